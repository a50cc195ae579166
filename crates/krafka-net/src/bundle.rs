//! `BrokerConnectionBundle`: `connections_per_broker` connections to one broker, so that one
//! long-polling fetch or one large produce does not hold up every other request to it.
//!
//! Requests with no ordering needs take [`select`](BrokerConnectionBundle::select)
//! (round-robin over usable connections). Requests that must stay in order, an idempotent
//! producer's batches for one partition, take
//! [`for_partition`](BrokerConnectionBundle::for_partition): a partition stays on the connection
//! it was first given for as long as that connection is usable, so its requests never race each
//! other over two sockets. A dead connection is replaced in place by
//! [`repair`](BrokerConnectionBundle::repair); partitions that had moved off it stay where they
//! moved.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::config::ConnectionConfig;
use crate::connection::BrokerConnection;
use crate::error::NetError;

/// Several connections to one broker.
#[derive(Debug)]
pub struct BrokerConnectionBundle {
    addr: String,
    config: Arc<ConnectionConfig>,
    /// Each slot's current connection; a slot is swapped when its connection is replaced.
    connections: Vec<RwLock<BrokerConnection>>,
    next: AtomicUsize,
    /// Guards: which slot each partition (by hash of topic and partition) is pinned to.
    pinned: RwLock<HashMap<u64, usize>>,
    hasher: std::collections::hash_map::RandomState,
}

impl BrokerConnectionBundle {
    /// Opens `config.connections_per_broker` connections to `addr`, concurrently. Fails if any
    /// of them fails (the broker is then not reliably reachable).
    ///
    /// Cancel-safe: dropping the future closes the connections opened so far.
    pub async fn connect(addr: &str, config: Arc<ConnectionConfig>) -> Result<Self, NetError> {
        let mut dials = tokio::task::JoinSet::new();
        for slot in 0..config.connections_per_broker {
            let (addr, config) = (addr.to_owned(), config.clone());
            dials.spawn(async move { (slot, BrokerConnection::connect(&addr, config).await) });
        }
        let mut opened: Vec<Option<BrokerConnection>> = vec![None; config.connections_per_broker];
        while let Some(joined) = dials.join_next().await {
            let (slot, result) =
                joined.map_err(|e| NetError::disconnected(addr, format_args!("dial task: {e}")))?;
            if let Some(place) = opened.get_mut(slot) {
                *place = Some(result?);
            }
        }
        let connections = opened
            .into_iter()
            .map(|c| c.map(RwLock::new))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| NetError::disconnected(addr, "a dial did not finish"))?;
        Ok(Self {
            addr: addr.to_owned(),
            config,
            connections,
            next: AtomicUsize::new(0),
            pinned: RwLock::new(HashMap::new()),
            hasher: Default::default(),
        })
    }

    /// The broker address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// How many connections the bundle holds, usable or not.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether it holds none (never true for a connected bundle).
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// How many of its connections are usable.
    pub fn usable_count(&self) -> usize {
        self.connections
            .iter()
            .filter(|c| c.read().is_usable())
            .count()
    }

    /// The connection in slot `index`, usable or not.
    pub fn get(&self, index: usize) -> Option<BrokerConnection> {
        self.connections.get(index).map(|c| c.read().clone())
    }

    /// The next usable connection, round-robin; `None` if none is usable.
    pub fn select(&self) -> Option<BrokerConnection> {
        self.select_slot().map(|(_, c)| c)
    }

    fn select_slot(&self) -> Option<(usize, BrokerConnection)> {
        let len = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..len).find_map(|i| {
            let slot = (start + i) % len;
            let conn = self.connections[slot].read();
            conn.is_usable().then(|| (slot, conn.clone()))
        })
    }

    /// The connection for `topic`/`partition`: the same one every time while it is usable, so
    /// that a partition's requests stay in order. When it is not, the partition is pinned to
    /// another usable connection. `None` if none is usable.
    pub fn for_partition(&self, topic: &str, partition: i32) -> Option<BrokerConnection> {
        let key = {
            let mut h = self.hasher.build_hasher();
            topic.hash(&mut h);
            partition.hash(&mut h);
            h.finish()
        };
        if let Some(&slot) = self.pinned.read().get(&key) {
            let conn = self.connections[slot].read();
            if conn.is_usable() {
                return Some(conn.clone());
            }
        }
        let mut pinned = self.pinned.write();
        // Another caller may have re-pinned it meanwhile.
        if let Some(&slot) = pinned.get(&key) {
            let conn = self.connections[slot].read();
            if conn.is_usable() {
                return Some(conn.clone());
            }
        }
        let (slot, conn) = self.select_slot()?;
        pinned.insert(key, slot);
        Some(conn)
    }

    /// Replaces every unusable connection with a new one. Returns how many were replaced;
    /// fails with the first dial error (connections replaced before it stay).
    ///
    /// Cancel-safe: a dial in progress is abandoned; nothing is swapped half-way.
    pub async fn repair(&self) -> Result<usize, NetError> {
        let mut replaced = 0;
        for slot in &self.connections {
            if slot.read().is_usable() {
                continue;
            }
            let fresh = BrokerConnection::connect(&self.addr, self.config.clone()).await?;
            *slot.write() = fresh;
            replaced += 1;
        }
        Ok(replaced)
    }

    /// Closes every connection and waits for their tasks.
    pub async fn close(&self) {
        for i in 0..self.connections.len() {
            if let Some(conn) = self.get(i) {
                conn.close().await;
            }
        }
    }
}
