//! The background fetcher: one task per consumer that keeps every assigned partition's data
//! flowing without the application asking.
//!
//! Each turn of its loop plans under the state lock (never across an `.await`) and then sends:
//! - partitions waiting for a starting offset are grouped by leader into one ListOffsets per
//!   broker, all brokers at once ([`offsets`]);
//! - for every leader without a fetch in flight, one Fetch carries all of that broker's
//!   fetchable partitions ([`fetch`]). A partition is fetchable when it has a position, is not
//!   paused, and its buffered bytes are under its share of the prefetch budget, so a slow
//!   application stops the fetching of its partitions rather than growing the heap.
//!
//! Requests run in spawned tasks that report back over a channel; the loop sleeps until a
//! report, a wake from the application (drained data, seek, pause, assignment, close) or the
//! earliest retry deadline. It never polls.
//!
//! Each broker's KIP-227 fetch session ([`session`]) travels with that broker's fetch and
//! comes back with its answer; when the consumer closes, the loop waits for fetches still out
//! and then closes every open session.

mod core;
pub(crate) mod fetch;
pub(crate) mod offsets;
pub(crate) mod session;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use krafka_net::ClusterMetadata;
use krafka_protocol::Uuid;
use tokio::sync::mpsc;

pub(crate) use self::core::Fetcher;
use self::core::{Event, Sent};
use crate::config::ConsumerConfig;
use crate::state::{OffsetSpec, Shared};

/// The requests one planning turn decided to send.
#[derive(Default)]
struct Plan {
    lookups: HashMap<i32, Vec<Sent>>,
    fetches: HashMap<i32, Vec<Sent>>,
    /// A partition has no known leader.
    need_metadata: bool,
    /// The earliest retry deadline still in the future.
    wake_at: Option<Instant>,
    /// Bytes a fetch response may still bring in overall.
    budget_left: usize,
}

fn earliest(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl Fetcher {
    pub(crate) fn new(
        shared: Arc<Shared>,
        metadata: ClusterMetadata,
        config: Arc<ConsumerConfig>,
    ) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        Self {
            shared,
            metadata,
            config,
            events_tx,
            events,
            brokers: HashMap::new(),
            refreshing: false,
            last_refresh: None,
        }
    }

    pub(crate) async fn run(mut self) {
        tracing::debug!("fetcher started");
        while !self.shared.closed.load(Ordering::Acquire) {
            let plan = self.plan(Instant::now());
            let wake_at = self.send(plan);
            let sleep = async {
                match wake_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = self.events.recv() => {
                    if let Some(event) = event {
                        self.handle(event);
                    }
                }
                () = self.shared.wake_fetcher.notified() => {}
                () = sleep => {}
            }
        }
        self.close_sessions().await;
        tracing::debug!("fetcher stopped");
    }

    /// Closes every open fetch session, so brokers free them at once instead of when they
    /// expire. Fetches still out are awaited first (for at most their long-poll wait and a
    /// second): their sessions come back with them.
    async fn close_sessions(&mut self) {
        let deadline = Instant::now() + self.config.fetch_max_wait + Duration::from_secs(1);
        while self.brokers.values().any(|b| b.fetching) {
            let event = tokio::time::timeout_at(deadline.into(), self.events.recv()).await;
            match event {
                Ok(Some(event)) => self.handle(event),
                Ok(None) | Err(_) => break,
            }
        }
        let open: Vec<(i32, i32)> = self
            .brokers
            .iter()
            .filter(|(_, b)| !b.fetching)
            .filter_map(|(id, b)| Some((*id, b.session.id()?)))
            .collect();
        if open.is_empty() {
            return;
        }
        let mut closing = tokio::task::JoinSet::new();
        for (broker, session_id) in open {
            closing.spawn(fetch::close_session(
                self.metadata.pool().clone(),
                self.config.clone(),
                broker,
                session_id,
            ));
        }
        let deadline = Instant::now() + self.config.request_timeout;
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline.into(), closing.join_next()).await
        {
        }
    }

    /// Decides what to send, under the state lock.
    fn plan(&mut self, now: Instant) -> Plan {
        let snapshot = self.metadata.snapshot();
        let shared = Arc::clone(&self.shared);
        let mut state = shared.state.lock();
        let share = state.share(self.config.max_buffered_bytes);
        let mut plan = Plan {
            budget_left: self
                .config
                .max_buffered_bytes
                .saturating_sub(state.buffered),
            ..Plan::default()
        };
        for (tp, p) in &mut state.partitions {
            if let Some(at) = p.retry_at {
                if at > now {
                    plan.wake_at = earliest(plan.wake_at, at);
                    continue;
                }
                p.retry_at = None;
            }
            let leader = snapshot.leader(&tp.topic, tp.partition);
            if let Some(spec) = p.reset.filter(|_| !p.resolving) {
                match leader {
                    Some(leader) => {
                        p.resolving = true;
                        plan.lookups.entry(leader.broker).or_default().push(Sent {
                            partition: tp.clone(),
                            topic_id: Uuid::ZERO,
                            epoch: p.epoch,
                            offset: -1,
                            leader_epoch: leader.epoch,
                            max_bytes: 0,
                            spec,
                        });
                    }
                    None => plan.need_metadata = true,
                }
                continue;
            }
            let Some(fetch_offset) = p.fetch_offset else {
                continue;
            };
            if p.reset.is_some() || p.paused || p.revoking || p.in_flight {
                continue;
            }
            if p.buffered >= share {
                // Backpressure: the application has not drained this partition's share yet.
                self.shared.metrics.budget_stalled();
                continue;
            }
            let Some(leader) = leader else {
                plan.need_metadata = true;
                continue;
            };
            let broker = self.broker(leader.broker);
            if broker.fetching {
                continue;
            }
            if let Some(at) = broker.retry_at.filter(|at| *at > now) {
                plan.wake_at = earliest(plan.wake_at, at);
                continue;
            }
            let config = &self.config;
            let room = share - p.buffered;
            let max_bytes = i32::try_from(room).map_or(config.max_partition_fetch_bytes, |room| {
                room.clamp(1, config.max_partition_fetch_bytes)
            });
            p.in_flight = true;
            let topic_id = snapshot.topic(&tp.topic).map_or(Uuid::ZERO, |t| t.topic_id);
            plan.fetches.entry(leader.broker).or_default().push(Sent {
                partition: tp.clone(),
                topic_id,
                epoch: p.epoch,
                offset: fetch_offset,
                leader_epoch: leader.epoch,
                max_bytes,
                spec: OffsetSpec::Latest,
            });
        }
        for broker in plan.fetches.keys() {
            if let Some(b) = self.brokers.get_mut(broker) {
                b.fetching = true;
            }
        }
        plan
    }

    /// Spawns the planned requests; returns when the loop should next wake on its own.
    fn send(&mut self, plan: Plan) -> Option<Instant> {
        let mut wake_at = plan.wake_at;
        for (broker, sent) in plan.lookups {
            offsets::spawn_lookup(self, broker, sent);
        }
        for (broker, sent) in plan.fetches {
            fetch::spawn_fetch(self, broker, sent, plan.budget_left);
        }
        if plan.need_metadata && !self.refreshing {
            let now = Instant::now();
            let next = self
                .last_refresh
                .map_or(now, |last| last + self.config.retry_backoff);
            if next <= now {
                self.refreshing = true;
                self.last_refresh = Some(now);
                let metadata = self.metadata.clone();
                let events = self.events_tx.clone();
                tokio::spawn(async move {
                    let result = metadata.refresh().await.map(|_| ());
                    let _ = events.send(Event::Metadata(result));
                });
            } else {
                wake_at = earliest(wake_at, next);
            }
        }
        wake_at
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Fetched {
                broker,
                sent,
                started,
                result,
                session,
            } => {
                let b = self.broker(broker);
                b.fetching = false;
                b.session = session;
                fetch::handle_fetch(self, broker, sent, started, result);
            }
            Event::Offsets {
                broker,
                sent,
                result,
            } => offsets::handle_lookup(self, broker, sent, result),
            Event::Metadata(result) => {
                self.refreshing = false;
                if let Err(e) = result {
                    tracing::debug!(error = %e, "metadata refresh failed");
                }
            }
        }
    }
}
