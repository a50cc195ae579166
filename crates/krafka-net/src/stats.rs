//! Counters and a latency histogram for one connection, readable at any time without locks.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters of one [`BrokerConnection`](crate::BrokerConnection).
///
/// Every request that reaches the socket is counted in exactly one of three ways:
///
/// - [`bypass_count`](Self::bypass_count): the calling task wrote the request to the socket
///   itself, because when it was sent the connection was idle: no request in flight, both
///   lanes empty, no earlier bytes waiting for the socket. It never waited in a lane and never
///   handed off to the writer task, which saves a task wake-up on a lightly used connection
///   (one request at a time, like a consumer's heartbeat or a metadata refresh). Under load
///   requests go through the lanes instead, so the writer can coalesce them.
/// - [`high_priority_count`](Self::high_priority_count): it waited in the high-priority lane,
///   which the writer task always empties before taking anything from the normal lane.
/// - [`normal_priority_count`](Self::normal_priority_count): it waited in the normal lane.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    high: AtomicU64,
    normal: AtomicU64,
    bypass: AtomicU64,
    in_flight: AtomicU64,
    responses: AtomicU64,
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
    write_calls: AtomicU64,
    read_calls: AtomicU64,
    reauthentications: AtomicU64,
    latency: LatencyHistogram,
}

impl ConnectionStats {
    /// Requests sent through the high-priority lane.
    pub fn high_priority_count(&self) -> u64 {
        self.high.load(Relaxed)
    }

    /// SASL re-authentications completed on this connection (KIP-368).
    pub fn reauthentications(&self) -> u64 {
        self.reauthentications.load(Relaxed)
    }

    pub(crate) fn reauthenticated(&self) {
        self.reauthentications.fetch_add(1, Relaxed);
    }

    /// Requests sent through the normal lane.
    pub fn normal_priority_count(&self) -> u64 {
        self.normal.load(Relaxed)
    }

    /// Requests the caller wrote straight to the socket (see the type's docs).
    pub fn bypass_count(&self) -> u64 {
        self.bypass.load(Relaxed)
    }

    /// All requests written: the sum of the three counts above.
    pub fn requests_sent(&self) -> u64 {
        self.high_priority_count() + self.normal_priority_count() + self.bypass_count()
    }

    /// Requests written whose responses have not arrived.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Relaxed)
    }

    /// Responses received.
    pub fn responses(&self) -> u64 {
        self.responses.load(Relaxed)
    }

    /// Bytes written to the socket.
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Relaxed)
    }

    /// Bytes read from the socket.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Relaxed)
    }

    /// Write system calls made; with coalescing this is fewer than the requests sent.
    pub fn write_calls(&self) -> u64 {
        self.write_calls.load(Relaxed)
    }

    /// Read system calls that returned data.
    pub fn read_calls(&self) -> u64 {
        self.read_calls.load(Relaxed)
    }

    /// Round-trip times (request written to response read).
    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    pub(crate) fn sent(&self, lane: Lane) {
        match lane {
            Lane::High => &self.high,
            Lane::Normal => &self.normal,
            Lane::Bypass => &self.bypass,
        }
        .fetch_add(1, Relaxed);
    }

    pub(crate) fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n as u64, Relaxed);
    }

    pub(crate) fn wrote(&self, bytes: usize) {
        self.write_calls.fetch_add(1, Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn read(&self, bytes: usize) {
        self.read_calls.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn answered(&self, round_trip: Duration) {
        self.responses.fetch_add(1, Relaxed);
        self.latency.record(round_trip);
    }
}

/// How a request reached the socket, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    High,
    Normal,
    Bypass,
}

const BUCKETS: usize = 40;

/// A histogram of durations in power-of-two microsecond buckets (bucket `i` holds values below
/// `2^i` µs), lock-free to record into.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; BUCKETS],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl LatencyHistogram {
    /// Adds one observation.
    pub fn record(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let bucket = (64 - micros.leading_zeros()) as usize;
        self.buckets[bucket.min(BUCKETS - 1)].fetch_add(1, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// An upper bound of the `q` quantile (0.0–1.0): the top of the bucket holding it, so at
    /// most twice the true value. `None` before any observation.
    pub fn quantile_upper_bound(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_micros(1u64 << i));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bounds_quantiles() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile_upper_bound(0.5), None);
        for _ in 0..99 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_millis(50));
        assert_eq!(h.count(), 100);
        let p50 = h.quantile_upper_bound(0.5).unwrap();
        assert!(p50 >= Duration::from_micros(100) && p50 <= Duration::from_micros(200));
        let max = h.quantile_upper_bound(1.0).unwrap();
        assert!(max >= Duration::from_millis(50) && max <= Duration::from_millis(100));
        h.record(Duration::from_secs(1 << 30));
        assert_eq!(h.count(), 101);
    }

    #[test]
    fn every_request_is_counted_once() {
        let s = ConnectionStats::default();
        s.sent(Lane::High);
        s.sent(Lane::Normal);
        s.sent(Lane::Normal);
        s.sent(Lane::Bypass);
        assert_eq!(
            (
                s.high_priority_count(),
                s.normal_priority_count(),
                s.bypass_count()
            ),
            (1, 2, 1)
        );
        assert_eq!(s.requests_sent(), 4);
    }
}
