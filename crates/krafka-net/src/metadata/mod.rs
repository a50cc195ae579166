//! `ClusterMetadata`: the one owner of what a client knows about the cluster (brokers, topics,
//! partitions, leaders, leader epochs, topic ids, controller), shared by producers and
//! consumers.
//!
//! Reads are snapshot reads: [`ClusterMetadata::snapshot`] clones an `Arc` to an immutable
//! [`MetadataSnapshot`], so a reader never waits for a refresh and a refresh waits for readers
//! only as long as one pointer copy takes.
//!
//! One background task does every refresh. It refreshes when asked (explicitly, after
//! [`ClusterMetadata::report_error`] saw a stale-leader error, or when new topics are added)
//! and when the snapshot is older than `max_age`, never more often than every
//! `refresh_backoff`. Requests that arrive while a refresh is running are answered by the next
//! one; all requests made before a refresh starts are answered by it, so a hundred tasks that
//! notice a leader move at once cause one Metadata request, not a hundred.

mod snapshot;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use krafka_protocol::messages::MetadataRequest;
use krafka_protocol::messages::metadata_request::MetadataRequestTopic;
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};
use parking_lot::RwLock;
use tokio::sync::{Notify, watch};

pub use snapshot::{BrokerInfo, MetadataSnapshot, PartitionInfo, PartitionLeader, TopicInfo};

use crate::error::NetError;
use crate::pool::ConnectionPool;

/// How metadata is fetched and kept fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataConfig {
    /// `host:port` addresses to ask before any broker is known (Java's `bootstrap.servers`).
    pub bootstrap: Vec<String>,
    /// A snapshot older than this is refreshed (Java's `metadata.max.age.ms`, 5 minutes).
    pub max_age: Duration,
    /// The least time between two refreshes (Java's `retry.backoff.ms`, 100 ms).
    pub refresh_backoff: Duration,
    /// Whether asking about a missing topic creates it, where the broker allows it
    /// (`auto.create.topics.enable`). On, as Java's producer always asks and its consumer's
    /// `allow.auto.create.topics` defaults to true; `Admin` never asks.
    pub allow_auto_topic_creation: bool,
}

impl MetadataConfig {
    /// Java's defaults with these bootstrap addresses. Each item may itself be a
    /// comma-separated list, as in Java's `bootstrap.servers`.
    pub fn new<S: AsRef<str>>(bootstrap: impl IntoIterator<Item = S>) -> Self {
        let bootstrap = bootstrap
            .into_iter()
            .flat_map(|item| {
                item.as_ref()
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        Self {
            bootstrap,
            max_age: Duration::from_secs(300),
            refresh_backoff: Duration::from_millis(100),
            allow_auto_topic_creation: true,
        }
    }
}

/// Which topics a refresh asks about.
#[derive(Debug, Default)]
struct Interest {
    all: bool,
    topics: BTreeSet<String>,
    /// Topics a refresh has found to exist. Auto-creation is asked for only while some topic
    /// of interest has never been found, so a topic deleted under a live client is not
    /// created again by its refreshes (Java's clients re-create such a topic while it is in
    /// use).
    seen: BTreeSet<String>,
}

impl Interest {
    /// Whether a refresh should ask the broker to create missing topics.
    fn wants_creation(&self, allowed: bool) -> bool {
        allowed && !self.all && self.topics.iter().any(|t| !self.seen.contains(t))
    }
}

/// The outcome of the latest refresh: every request numbered up to `covers` is answered by it.
#[derive(Debug, Clone, Default)]
struct Completed {
    covers: u64,
    error: Option<NetError>,
}

struct Inner {
    pool: ConnectionPool,
    config: MetadataConfig,
    /// Guards: the current snapshot; swapped whole by the refresher.
    snapshot: RwLock<Arc<MetadataSnapshot>>,
    /// Guards: the topics refreshes ask about.
    interest: RwLock<Interest>,
    /// Refresh requests made so far.
    requested: AtomicU64,
    /// Metadata requests actually sent.
    sent: AtomicU64,
    completed: watch::Sender<Completed>,
    /// A topic was added: the next refresh need not wait out `refresh_backoff` (as Java's
    /// `requestUpdateForNewTopics`), since it asks something no refresh has asked yet.
    new_topics: AtomicBool,
    wake: Notify,
    stop: watch::Sender<bool>,
}

/// Cluster metadata shared by every part of a client. Clones share it; the refresher task
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct ClusterMetadata {
    inner: Arc<Inner>,
    _guard: Arc<StopOnDrop>,
}

struct StopOnDrop(Arc<Inner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.stop.send(true);
    }
}

impl std::fmt::Debug for ClusterMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterMetadata")
            .field("generation", &self.snapshot().generation)
            .finish()
    }
}

/// The least time between two refresh attempts whatever `refresh_backoff` says.
const MIN_REFRESH_SPACING: Duration = Duration::from_millis(10);

/// Errors that mean the client's picture of partition leadership is out of date.
const STALE_METADATA: &[ErrorCode] = &[
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_LEADER_EPOCH,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode::LEADER_NOT_AVAILABLE,
    ErrorCode::REPLICA_NOT_AVAILABLE,
    ErrorCode::KAFKA_STORAGE_ERROR,
    ErrorCode::UNKNOWN_TOPIC_ID,
    ErrorCode::INCONSISTENT_TOPIC_ID,
];

/// Whether `code` means the client's picture of partition leadership is out of date
/// (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, a recreated
/// topic's INCONSISTENT_TOPIC_ID, …): the leader is looked up again and the request retried.
/// The one list every request path consults.
pub fn is_stale_metadata(code: ErrorCode) -> bool {
    STALE_METADATA.contains(&code)
}

impl ClusterMetadata {
    /// A cache that knows nothing yet, with its refresher task started. Must be called inside
    /// a Tokio runtime. Use [`connect`](Self::connect) to also wait for the first refresh.
    pub fn new(pool: ConnectionPool, config: MetadataConfig) -> Self {
        let inner = Arc::new(Inner {
            pool,
            config,
            snapshot: RwLock::new(Arc::new(MetadataSnapshot::empty())),
            interest: RwLock::new(Interest::default()),
            requested: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            completed: watch::channel(Completed::default()).0,
            new_topics: AtomicBool::new(false),
            wake: Notify::new(),
            stop: watch::channel(false).0,
        });
        tokio::spawn(refresher(inner.clone()));
        Self {
            _guard: Arc::new(StopOnDrop(inner.clone())),
            inner,
        }
    }

    /// A cache bootstrapped with one refresh. Cancel-safe: the refresh it started finishes on
    /// the refresher task whether or not anyone waits.
    pub async fn connect(pool: ConnectionPool, config: MetadataConfig) -> Result<Self, NetError> {
        let metadata = Self::new(pool, config);
        metadata.refresh().await?;
        Ok(metadata)
    }

    /// The pool metadata requests go through (and whose broker addresses it keeps current).
    pub fn pool(&self) -> &ConnectionPool {
        &self.inner.pool
    }

    /// The current snapshot. Never blocks on a refresh.
    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        self.inner.snapshot.read().clone()
    }

    /// The leader of a partition in the current snapshot.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<PartitionLeader> {
        self.snapshot().leader(topic, partition)
    }

    /// Metadata requests sent so far (refreshes that reached a broker, or were tried).
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Adds topics that refreshes ask about; asks for a refresh if any is new.
    pub fn add_topics<S: AsRef<str>>(&self, topics: impl IntoIterator<Item = S>) {
        let added = {
            let mut interest = self.inner.interest.write();
            let mut added = false;
            for topic in topics {
                added |= interest.topics.insert(topic.as_ref().to_owned());
            }
            added && !interest.all
        };
        if added {
            self.inner.new_topics.store(true, Ordering::Release);
            self.request_refresh();
        }
    }

    /// Makes refreshes ask about every topic in the cluster.
    pub fn track_all_topics(&self) {
        let changed = !std::mem::replace(&mut self.inner.interest.write().all, true);
        if changed {
            self.request_refresh();
        }
    }

    /// Asks for a refresh without waiting for it.
    pub fn request_refresh(&self) {
        self.inner.requested.fetch_add(1, Ordering::AcqRel);
        self.inner.wake.notify_one();
    }

    /// Refreshes and returns the new snapshot. Coalesced: every call made before a refresh
    /// starts is answered by that one refresh.
    ///
    /// Cancel-safe: the refresh goes on without the caller.
    pub async fn refresh(&self) -> Result<Arc<MetadataSnapshot>, NetError> {
        let mut completed = self.inner.completed.subscribe();
        let mine = self.inner.requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.inner.wake.notify_one();
        let outcome = completed
            .wait_for(|c| c.covers >= mine)
            .await
            .map_err(|_| NetError::NoBrokerAvailable { last_error: None })?
            .clone();
        match outcome.error {
            Some(e) => Err(e),
            None => Ok(self.snapshot()),
        }
    }

    /// Tells the cache that a request failed with `code`. If the code means the client's
    /// leadership picture is stale (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH,
    /// UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, …) a refresh is requested and `true`
    /// returned.
    pub fn report_error(&self, code: ErrorCode) -> bool {
        let stale = is_stale_metadata(code);
        if stale {
            tracing::debug!(%code, "stale metadata reported; refreshing");
            self.request_refresh();
        }
        stale
    }
}

/// The background task doing every refresh.
async fn refresher(inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    let mut last_attempt: Option<Instant> = None;
    loop {
        let fetched_at = inner.snapshot.read().fetched_at;
        let expires = crate::inflight::deadline_after(fetched_at, inner.config.max_age);
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep_until(expires.into()) => {}
        }
        if let Some(last) = last_attempt {
            // A floor, so a zero backoff with every broker down cannot spin.
            let spacing = if inner.new_topics.swap(false, Ordering::AcqRel) {
                MIN_REFRESH_SPACING
            } else {
                inner.config.refresh_backoff.max(MIN_REFRESH_SPACING)
            };
            let earliest = last + spacing;
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                _ = tokio::time::sleep_until(earliest.into()) => {}
            }
        }
        let covers = inner.requested.load(Ordering::Acquire);
        last_attempt = Some(Instant::now());
        let error = fetch(&inner).await.err();
        if let Some(e) = &error {
            tracing::warn!(error = %e, "metadata refresh failed");
        }
        inner.completed.send_replace(Completed { covers, error });
    }
}

/// Asks one broker after another (known brokers first, then the bootstrap list) until one
/// answers, then installs the new snapshot.
async fn fetch(inner: &Inner) -> Result<(), NetError> {
    let current = inner.snapshot.read().clone();
    let mut candidates: Vec<String> = current.brokers.values().map(BrokerInfo::addr).collect();
    candidates.sort();
    if !candidates.is_empty() {
        let start = (current.generation as usize) % candidates.len();
        candidates.rotate_left(start);
    }
    for addr in &inner.config.bootstrap {
        if !candidates.contains(addr) {
            candidates.push(addr.clone());
        }
    }
    let request_for = |version: i16| {
        let interest = inner.interest.read();
        let topics = if interest.all {
            if version == 0 { Some(Vec::new()) } else { None }
        } else {
            Some(
                interest
                    .topics
                    .iter()
                    .map(|t| MetadataRequestTopic {
                        name: Some(StrBytes::from_string(t.clone())),
                        ..Default::default()
                    })
                    .collect(),
            )
        };
        MetadataRequest {
            topics,
            allow_auto_topic_creation: interest
                .wants_creation(inner.config.allow_auto_topic_creation),
            ..Default::default()
        }
    };
    let mut last_error = None;
    for addr in candidates {
        let attempt = async {
            let conn = inner.pool.get_connection(&addr).await?;
            let version = conn.version_in(ApiKey::METADATA, 0..=i16::MAX)?;
            inner.sent.fetch_add(1, Ordering::Relaxed);
            conn.send(&request_for(version), version).await
        };
        match attempt.await {
            Ok(response) => {
                let snapshot = MetadataSnapshot::from_response(&response, current.generation + 1);
                inner
                    .pool
                    .set_brokers(snapshot.brokers.values().map(|b| (b.id, b.addr())));
                tracing::debug!(
                    %addr,
                    generation = snapshot.generation,
                    brokers = snapshot.brokers.len(),
                    topics = snapshot.topics.len(),
                    "metadata refreshed"
                );
                {
                    let mut interest = inner.interest.write();
                    let found = snapshot.topics.iter().filter(|(_, t)| t.error.is_ok());
                    for (name, _) in found {
                        if !interest.seen.contains(&**name) {
                            interest.seen.insert(name.to_string());
                        }
                    }
                }
                *inner.snapshot.write() = Arc::new(snapshot);
                return Ok(());
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "metadata request failed; trying the next broker");
                last_error = Some(Box::new(e));
            }
        }
    }
    Err(NetError::NoBrokerAvailable { last_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_is_asked_for_only_while_a_topic_was_never_found() {
        let mut interest = Interest::default();
        interest.topics.insert("a".into());
        assert!(interest.wants_creation(true));
        assert!(!interest.wants_creation(false), "the setting off");
        interest.seen.insert("a".into());
        assert!(
            !interest.wants_creation(true),
            "found once: never created again"
        );
        interest.topics.insert("b".into());
        assert!(interest.wants_creation(true), "a new topic");
        interest.all = true;
        assert!(
            !interest.wants_creation(true),
            "all topics: nothing to create"
        );
    }

    #[test]
    fn bootstrap_lists_are_split_like_javas() {
        let c = MetadataConfig::new(["a:1, b:2,", "c:3"]);
        assert_eq!(c.bootstrap, ["a:1", "b:2", "c:3"]);
        assert_eq!(c.max_age, Duration::from_secs(300));
        assert_eq!(c.refresh_backoff, Duration::from_millis(100));
        assert!(c.allow_auto_topic_creation);
    }

    #[test]
    fn stale_leader_errors_are_recognised() {
        for code in [
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            ErrorCode::FENCED_LEADER_EPOCH,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
        ] {
            assert!(STALE_METADATA.contains(&code));
        }
        assert!(!STALE_METADATA.contains(&ErrorCode::NONE));
        assert!(!STALE_METADATA.contains(&ErrorCode::REQUEST_TIMED_OUT));
    }
}
