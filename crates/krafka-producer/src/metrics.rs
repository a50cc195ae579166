//! Counters and a latency histogram an application can read while the producer runs
//! ([`Producer::metrics`](crate::Producer::metrics)). All lock-free except the per-error-code
//! table, which is touched only on errors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use krafka_net::LatencyHistogram;
use krafka_protocol::ErrorCode;
use parking_lot::Mutex;

/// The producer's live counters.
#[derive(Debug, Default)]
pub struct ProducerMetrics {
    records_sent: AtomicU64,
    bytes_sent: AtomicU64,
    batches_sent: AtomicU64,
    batches_sealed: AtomicU64,
    records_sealed: AtomicU64,
    requests_sent: AtomicU64,
    batches_in_requests: AtomicU64,
    retries: AtomicU64,
    records_failed: AtomicU64,
    epoch_bumps: AtomicU64,
    splits: AtomicU64,
    errors: Mutex<BTreeMap<i16, u64>>,
    request_latency: LatencyHistogram,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Records acknowledged (or written, with acks=0).
    pub records_sent: u64,
    /// Bytes of acknowledged batches (as sent, after compression).
    pub bytes_sent: u64,
    /// Batches acknowledged.
    pub batches_sent: u64,
    /// Produce requests sent.
    pub requests_sent: u64,
    /// Mean records per sealed batch.
    pub records_per_batch: f64,
    /// Mean batches per produce request (retries included).
    pub batches_per_request: f64,
    /// Batch retries.
    pub retries: u64,
    /// Records that ended in an error.
    pub records_failed: u64,
    /// Idempotent epoch bumps (KIP-360).
    pub epoch_bumps: u64,
    /// Batches split after MESSAGE_TOO_LARGE.
    pub splits: u64,
    /// Broker error codes seen in produce responses, with counts.
    pub errors_by_code: BTreeMap<i16, u64>,
    /// Buffer memory free now, in bytes.
    pub buffer_available: usize,
    /// The configured buffer memory.
    pub buffer_total: usize,
    /// Total time `send` callers waited for buffer memory.
    pub blocked_time: Duration,
    /// How many `send` calls waited for memory.
    pub blocked_calls: u64,
    /// Produce request round trip, p50 and p99 (upper bounds of power-of-two buckets).
    pub request_latency_p50: Option<Duration>,
    /// See `request_latency_p50`.
    pub request_latency_p99: Option<Duration>,
}

impl ProducerMetrics {
    pub(crate) fn batch_sealed(&self, records: i32) {
        self.batches_sealed.fetch_add(1, Relaxed);
        self.records_sealed
            .fetch_add(u64::try_from(records).unwrap_or(0), Relaxed);
    }

    pub(crate) fn batch_acked(&self, records: i32, bytes: usize) {
        self.batches_sent.fetch_add(1, Relaxed);
        self.records_sent
            .fetch_add(u64::try_from(records).unwrap_or(0), Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn batch_failed(&self, records: i32) {
        self.records_failed
            .fetch_add(u64::try_from(records).unwrap_or(0), Relaxed);
    }

    pub(crate) fn request_sent(&self, batches: usize) {
        self.requests_sent.fetch_add(1, Relaxed);
        self.batches_in_requests.fetch_add(batches as u64, Relaxed);
    }

    pub(crate) fn request_answered(&self, latency: Duration) {
        self.request_latency.record(latency);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn epoch_bumped(&self) {
        self.epoch_bumps.fetch_add(1, Relaxed);
    }

    pub(crate) fn split(&self) {
        self.splits.fetch_add(1, Relaxed);
    }

    pub(crate) fn error(&self, code: ErrorCode) {
        *self.errors.lock().entry(code.0).or_default() += 1;
    }

    /// The produce request round-trip histogram.
    pub fn request_latency(&self) -> &LatencyHistogram {
        &self.request_latency
    }

    pub(crate) fn snapshot(
        &self,
        buffer_available: usize,
        buffer_total: usize,
        blocked: (Duration, u64),
    ) -> MetricsSnapshot {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let requests = self.requests_sent.load(Relaxed);
        MetricsSnapshot {
            records_sent: self.records_sent.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            batches_sent: self.batches_sent.load(Relaxed),
            requests_sent: requests,
            records_per_batch: ratio(
                self.records_sealed.load(Relaxed),
                self.batches_sealed.load(Relaxed),
            ),
            batches_per_request: ratio(self.batches_in_requests.load(Relaxed), requests),
            retries: self.retries.load(Relaxed),
            records_failed: self.records_failed.load(Relaxed),
            epoch_bumps: self.epoch_bumps.load(Relaxed),
            splits: self.splits.load(Relaxed),
            errors_by_code: self.errors.lock().clone(),
            buffer_available,
            buffer_total,
            blocked_time: blocked.0,
            blocked_calls: blocked.1,
            request_latency_p50: self.request_latency.quantile_upper_bound(0.5),
            request_latency_p99: self.request_latency.quantile_upper_bound(0.99),
        }
    }
}
