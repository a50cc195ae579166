//! Counters and a fetch latency histogram an application can read while the consumer runs
//! ([`Consumer::metrics`](crate::Consumer::metrics)). Relaxed atomics: each counter is exact,
//! but a snapshot is not one instant across counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use krafka_net::LatencyHistogram;

/// The live counters.
#[derive(Debug, Default)]
pub struct ConsumerMetrics {
    records: AtomicU64,
    fetch_requests: AtomicU64,
    fetch_bytes: AtomicU64,
    fetch_errors: AtomicU64,
    offset_requests: AtomicU64,
    offset_partitions: AtomicU64,
    offset_errors: AtomicU64,
    budget_stalls: AtomicU64,
    full_fetches: AtomicU64,
    incremental_fetches: AtomicU64,
    full_fetch_bytes: AtomicU64,
    incremental_fetch_bytes: AtomicU64,
    session_errors: AtomicU64,
    heartbeats: AtomicU64,
    rebalances: AtomicU64,
    commits: AtomicU64,
    committed_partitions: AtomicU64,
    commit_errors: AtomicU64,
    fetch_latency: LatencyHistogram,
}

/// A copy of the counters.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Records handed to the application.
    pub records: u64,
    /// Bytes of record batches fetched.
    pub fetch_bytes: u64,
    /// Fetch requests answered (successfully or not).
    pub fetch_requests: u64,
    /// Partition errors and failed requests among the fetches.
    pub fetch_errors: u64,
    /// ListOffsets requests sent.
    pub offset_requests: u64,
    /// Partitions those requests asked about.
    pub offset_partitions: u64,
    /// Partition lookups that failed and were retried later.
    pub offset_errors: u64,
    /// Times a partition was left out of a fetch because its share of the prefetch budget was
    /// full: backpressure from a slow application.
    pub budget_stalls: u64,
    /// Fetch requests that listed every partition: sessionless, or opening a fetch session.
    pub full_fetches: u64,
    /// Fetch requests that listed only what changed in their KIP-227 session.
    pub incremental_fetches: u64,
    /// Bytes of the full fetch requests sent (their encoded size).
    pub full_fetch_bytes: u64,
    /// Bytes of the incremental fetch requests sent: against `full_fetch_bytes`, what
    /// sessions save.
    pub incremental_fetch_bytes: u64,
    /// Fetch sessions the broker lost or refused (each answered by a full fetch).
    pub session_errors: u64,
    /// Heartbeats answered by the group coordinator.
    pub heartbeats: u64,
    /// Rebalances this member completed (JoinGroup and SyncGroup answered).
    pub rebalances: u64,
    /// OffsetCommit requests that succeeded.
    pub commits: u64,
    /// Partition offsets those requests committed.
    pub committed_partitions: u64,
    /// Commits that failed (after their retries).
    pub commit_errors: u64,
    /// Median fetch round trip (an upper bound of its histogram bucket).
    pub fetch_latency_p50: Option<Duration>,
    /// 99th percentile fetch round trip.
    pub fetch_latency_p99: Option<Duration>,
}

impl ConsumerMetrics {
    pub(crate) fn records_returned(&self, count: u64) {
        self.records.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn fetch_answered(&self, latency: Duration, bytes: u64) {
        self.fetch_requests.fetch_add(1, Ordering::Relaxed);
        self.fetch_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.fetch_latency.record(latency);
    }

    pub(crate) fn fetch_sent(&self, full: bool, bytes: u64) {
        let (count, total) = if full {
            (&self.full_fetches, &self.full_fetch_bytes)
        } else {
            (&self.incremental_fetches, &self.incremental_fetch_bytes)
        };
        count.fetch_add(1, Ordering::Relaxed);
        total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn session_error(&self) {
        self.session_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fetch_failed(&self) {
        self.fetch_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn offsets_requested(&self, partitions: u64) {
        self.offset_requests.fetch_add(1, Ordering::Relaxed);
        self.offset_partitions
            .fetch_add(partitions, Ordering::Relaxed);
    }

    pub(crate) fn offset_failed(&self) {
        self.offset_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn heartbeat(&self) {
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rebalanced(&self) {
        self.rebalances.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn committed(&self, partitions: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_partitions
            .fetch_add(partitions, Ordering::Relaxed);
    }

    pub(crate) fn commit_failed(&self) {
        self.commit_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn budget_stalled(&self) {
        self.budget_stalls.fetch_add(1, Ordering::Relaxed);
    }

    /// The fetch round-trip histogram.
    pub fn fetch_latency(&self) -> &LatencyHistogram {
        &self.fetch_latency
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            records: load(&self.records),
            fetch_bytes: load(&self.fetch_bytes),
            fetch_requests: load(&self.fetch_requests),
            fetch_errors: load(&self.fetch_errors),
            offset_requests: load(&self.offset_requests),
            offset_partitions: load(&self.offset_partitions),
            offset_errors: load(&self.offset_errors),
            budget_stalls: load(&self.budget_stalls),
            full_fetches: load(&self.full_fetches),
            incremental_fetches: load(&self.incremental_fetches),
            full_fetch_bytes: load(&self.full_fetch_bytes),
            incremental_fetch_bytes: load(&self.incremental_fetch_bytes),
            session_errors: load(&self.session_errors),
            heartbeats: load(&self.heartbeats),
            rebalances: load(&self.rebalances),
            commits: load(&self.commits),
            committed_partitions: load(&self.committed_partitions),
            commit_errors: load(&self.commit_errors),
            fetch_latency_p50: self.fetch_latency.quantile_upper_bound(0.5),
            fetch_latency_p99: self.fetch_latency.quantile_upper_bound(0.99),
        }
    }
}
