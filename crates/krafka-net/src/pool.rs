//! `ConnectionPool`: every connection a client holds, by broker address and broker id.
//!
//! Each address has a slot with its bundle of data connections; a second slot kind holds the
//! one *coordination connection* per broker that group traffic (Heartbeat, Join/Sync/LeaveGroup,
//! OffsetCommit/OffsetFetch) uses. A Kafka broker reads one request per connection at a time,
//! so on a shared connection a heartbeat waits behind a fetch long-poll *on the broker* however
//! the client orders its writes; on its own connection it does not.
//!
//! Locking: the hot path (a connected broker) takes two read locks and clones a handle. A
//! broker that must be dialled is dialled by one spawned task per slot, and every caller waiting
//! for it awaits a `watch` channel, holding no lock; so concurrent callers share one dial, a
//! cancelled caller cannot strand the others, and other brokers stay reachable meanwhile.
//! After a failed dial the slot backs off (50 ms doubling to 1 s, jittered) and callers get
//! [`NetError::Backoff`] at once instead of a new dial.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::bundle::BrokerConnectionBundle;
use crate::config::ConnectionConfig;
use crate::connection::BrokerConnection;
use crate::error::NetError;

/// Which connections of a broker a caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    /// The bundle for produce, fetch, metadata and everything else.
    Data,
    /// One connection for group coordination.
    Coordination,
}

/// The outcome of one dial, shared with everyone waiting for it.
type DialOutcome = Option<Result<(), NetError>>;

/// Guards: the dial in progress, the backoff after failures and when it ends.
struct DialState {
    in_progress: Option<watch::Receiver<DialOutcome>>,
    backoff: Backoff,
    retry_at: Option<(Instant, NetError)>,
}

struct Slot {
    addr: String,
    role: Role,
    /// The current bundle; replaced whole only when there was none.
    bundle: RwLock<Option<Arc<BrokerConnectionBundle>>>,
    dial: Mutex<DialState>,
}

struct PoolInner {
    data_config: Arc<ConnectionConfig>,
    coordination_config: Arc<ConnectionConfig>,
    /// Guards: the slot of each address, per role. Written only to add a slot.
    slots: RwLock<HashMap<(Role, String), Arc<Slot>>>,
    /// Guards: broker id to address, as the latest metadata said.
    brokers: RwLock<HashMap<i32, String>>,
    dials: AtomicU64,
    dial_failures: AtomicU64,
    seeds: AtomicU64,
}

/// Connections to every broker a client talks to. Clones share the pool.
#[derive(Clone)]
pub struct ConnectionPool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("slots", &self.inner.slots.read().len())
            .field("dials", &self.dial_count())
            .finish()
    }
}

impl ConnectionPool {
    /// An empty pool; connections are opened on first use.
    pub fn new(config: ConnectionConfig) -> Self {
        let coordination_config = Arc::new(ConnectionConfig {
            connections_per_broker: 1,
            ..config.clone()
        });
        Self {
            inner: Arc::new(PoolInner {
                data_config: Arc::new(config),
                coordination_config,
                slots: RwLock::new(HashMap::new()),
                brokers: RwLock::new(HashMap::new()),
                dials: AtomicU64::new(0),
                dial_failures: AtomicU64::new(0),
                seeds: AtomicU64::new(0),
            }),
        }
    }

    /// The configuration connections are opened with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.data_config
    }

    /// Records where brokers are (from metadata), replacing what was known.
    pub fn set_brokers(&self, brokers: impl IntoIterator<Item = (i32, String)>) {
        *self.inner.brokers.write() = brokers.into_iter().collect();
    }

    /// The address of broker `id`, if known.
    pub fn broker_addr(&self, id: i32) -> Option<String> {
        self.inner.brokers.read().get(&id).cloned()
    }

    /// Dials started so far (each opens a whole bundle or repairs one).
    pub fn dial_count(&self) -> u64 {
        self.inner.dials.load(Ordering::Relaxed)
    }

    /// Dials that failed.
    pub fn dial_failure_count(&self) -> u64 {
        self.inner.dial_failures.load(Ordering::Relaxed)
    }

    /// A usable data connection to `addr`, round-robin over its bundle, dialling if needed.
    ///
    /// Cancel-safe: a dial in progress goes on without the caller and serves the next one.
    pub async fn get_connection(&self, addr: &str) -> Result<BrokerConnection, NetError> {
        let bundle = self.bundle(addr, Role::Data).await?;
        bundle
            .select()
            .ok_or_else(|| NetError::disconnected(addr, "no usable connection in the bundle"))
    }

    /// Like [`get_connection`](Self::get_connection), for a broker id known from metadata.
    pub async fn get_connection_by_id(&self, id: i32) -> Result<BrokerConnection, NetError> {
        let addr = self.broker_addr(id).ok_or(NetError::UnknownBroker(id))?;
        self.get_connection(&addr).await
    }

    /// The bundle of data connections to `addr` (for per-partition routing through
    /// [`BrokerConnectionBundle::for_partition`]). Cancel-safe like `get_connection`.
    pub async fn get_bundle(&self, addr: &str) -> Result<Arc<BrokerConnectionBundle>, NetError> {
        self.bundle(addr, Role::Data).await
    }

    /// The coordination connection to `addr`: a connection of its own for group traffic, so
    /// that heartbeats never queue on the broker behind fetches and produces. Cancel-safe like
    /// `get_connection`.
    pub async fn get_coordination_connection(
        &self,
        addr: &str,
    ) -> Result<BrokerConnection, NetError> {
        let bundle = self.bundle(addr, Role::Coordination).await?;
        bundle
            .select()
            .ok_or_else(|| NetError::disconnected(addr, "coordination connection lost"))
    }

    /// Like [`get_coordination_connection`](Self::get_coordination_connection), by broker id.
    pub async fn get_coordination_connection_by_id(
        &self,
        id: i32,
    ) -> Result<BrokerConnection, NetError> {
        let addr = self.broker_addr(id).ok_or(NetError::UnknownBroker(id))?;
        self.get_coordination_connection(&addr).await
    }

    /// Closes every connection and waits for their tasks. Connections asked for afterwards
    /// are opened anew.
    pub async fn close(&self) {
        let slots: Vec<Arc<Slot>> = self.inner.slots.write().drain().map(|(_, s)| s).collect();
        for slot in slots {
            let bundle = slot.bundle.write().take();
            if let Some(bundle) = bundle {
                bundle.close().await;
            }
        }
    }

    async fn bundle(
        &self,
        addr: &str,
        role: Role,
    ) -> Result<Arc<BrokerConnectionBundle>, NetError> {
        let slot = self.slot(addr, role);
        // At most two rounds: the bundle as found, then after one dial.
        for _ in 0..2 {
            let current = slot.bundle.read().clone();
            if let Some(bundle) = current {
                let usable = bundle.usable_count();
                if usable == bundle.len() {
                    return Ok(bundle);
                }
                if usable > 0 {
                    // Serve from what works; replace the rest in the background.
                    let _ = self.start_dial(&slot);
                    return Ok(bundle);
                }
            }
            let mut outcome = self.start_dial(&slot)?;
            let result = outcome
                .wait_for(Option::is_some)
                .await
                .map_err(|_| NetError::disconnected(addr, "dial task ended"))?
                .clone();
            if let Some(Err(e)) = result {
                return Err(e);
            }
        }
        Err(NetError::disconnected(addr, "connections keep failing"))
    }

    fn slot(&self, addr: &str, role: Role) -> Arc<Slot> {
        let key = (role, addr.to_owned());
        if let Some(slot) = self.inner.slots.read().get(&key) {
            return slot.clone();
        }
        let seed = self.inner.seeds.fetch_add(1, Ordering::Relaxed);
        let config = &self.inner.data_config;
        self.inner
            .slots
            .write()
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Slot {
                    addr: addr.to_owned(),
                    role,
                    bundle: RwLock::new(None),
                    dial: Mutex::new(DialState {
                        in_progress: None,
                        backoff: Backoff::new(
                            config.reconnect_backoff,
                            config.reconnect_backoff_max,
                            seed,
                        ),
                        retry_at: None,
                    }),
                })
            })
            .clone()
    }

    /// Joins the slot's dial in progress or starts one; refuses while backing off.
    fn start_dial(&self, slot: &Arc<Slot>) -> Result<watch::Receiver<DialOutcome>, NetError> {
        let mut dial = slot.dial.lock();
        if let Some(rx) = &dial.in_progress {
            return Ok(rx.clone());
        }
        if let Some((at, last_error)) = &dial.retry_at {
            let now = Instant::now();
            if now < *at {
                return Err(NetError::Backoff {
                    addr: slot.addr.clone(),
                    retry_in: *at - now,
                    last_error: Box::new(last_error.clone()),
                });
            }
        }
        let (tx, rx) = watch::channel(None);
        dial.in_progress = Some(rx.clone());
        drop(dial);
        self.inner.dials.fetch_add(1, Ordering::Relaxed);
        let config = match slot.role {
            Role::Data => self.inner.data_config.clone(),
            Role::Coordination => self.inner.coordination_config.clone(),
        };
        let (slot, inner) = (slot.clone(), self.inner.clone());
        tokio::spawn(async move {
            let existing = slot.bundle.read().clone();
            let result = match existing {
                Some(bundle) => bundle.repair().await.map(|_| ()),
                None => BrokerConnectionBundle::connect(&slot.addr, config)
                    .await
                    .map(|bundle| *slot.bundle.write() = Some(Arc::new(bundle))),
            };
            let mut dial = slot.dial.lock();
            dial.in_progress = None;
            match &result {
                Ok(()) => {
                    dial.backoff.reset();
                    dial.retry_at = None;
                }
                Err(e) => {
                    inner.dial_failures.fetch_add(1, Ordering::Relaxed);
                    let delay = dial.backoff.next_delay();
                    tracing::debug!(addr = %slot.addr, error = %e, ?delay, "dial failed; backing off");
                    dial.retry_at = Some((Instant::now() + delay, e.clone()));
                }
            }
            drop(dial);
            let _ = tx.send(Some(result));
        });
        Ok(rx)
    }
}
