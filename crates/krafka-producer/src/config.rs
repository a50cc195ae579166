//! Producer settings: [`ProducerConfig`] with the Java client's defaults, the
//! [`AccumulatorConfig`] subset, and the validation that rejects settings which contradict each
//! other (Java's `ProducerConfig` checks, plus the sizes this crate relies on).

use std::fmt;
use std::time::Duration;

use krafka_protocol::compression::Compression;

/// How many acknowledgements a produce request waits for (Java's `acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acks {
    /// `acks=0`: fire and forget. The broker sends no response, so records resolve with no
    /// offset once written to the socket, and nothing is retried.
    None,
    /// `acks=1`: the leader has written the records.
    Leader,
    /// `acks=all` (Java's default): every in-sync replica has them.
    All,
}

impl Acks {
    /// The value sent in the request.
    pub fn wire_value(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// The memory and batching part of the settings, for callers that think of the accumulator on
/// its own: `AccumulatorConfig { buffer_memory, max_block_ms, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulatorConfig {
    /// Bytes of batches that may wait for acknowledgement before `send` blocks (Java's
    /// `buffer.memory`, 32 MiB).
    pub buffer_memory: usize,
    /// How long `send` waits for memory or metadata before failing (Java's `max.block.ms`,
    /// 60 000).
    pub max_block_ms: u64,
    /// The size a batch is sealed at (Java's `batch.size`, 16 384).
    pub batch_size: usize,
    /// How long a batch waits for more records before it is sent (Java's `linger.ms`, 5).
    pub linger_ms: u64,
}

impl Default for AccumulatorConfig {
    fn default() -> Self {
        Self {
            buffer_memory: 32 * 1024 * 1024,
            max_block_ms: 60_000,
            batch_size: 16 * 1024,
            linger_ms: 5,
        }
    }
}

/// Every producer setting. Build one through [`ProducerBuilder`](crate::ProducerBuilder); the
/// fields are public so that tools can print what a producer runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerConfig {
    /// Sealing size of a batch in bytes (Java's `batch.size`, 16 KiB).
    pub batch_size: usize,
    /// How long a batch waits for more records (Java's `linger.ms`, 5 ms since Kafka 4.0).
    pub linger: Duration,
    /// Acknowledgements to wait for (Java's `acks`, all).
    pub acks: Acks,
    /// Whether the producer is idempotent (Java's `enable.idempotence`, true).
    pub idempotence: bool,
    /// Batch compression (Java's `compression.type`, none).
    pub compression: Compression,
    /// The codec's level; `None` for its default (Java's `compression.<codec>.level`).
    pub compression_level: Option<i32>,
    /// Bytes of unacknowledged batches before `send` blocks (Java's `buffer.memory`, 32 MiB).
    pub buffer_memory: usize,
    /// How long `send` may wait for memory or metadata (Java's `max.block.ms`, 60 s).
    pub max_block: Duration,
    /// The time from `send` to the record's outcome, retries included (Java's
    /// `delivery.timeout.ms`, 120 s).
    pub delivery_timeout: Duration,
    /// How long one produce request may wait for its response (Java's `request.timeout.ms`,
    /// 30 s).
    pub request_timeout: Duration,
    /// The first delay before a retry (Java's `retry.backoff.ms`, 100 ms).
    pub retry_backoff: Duration,
    /// The largest delay before a retry (Java's `retry.backoff.max.ms`, 1 s).
    pub retry_backoff_max: Duration,
    /// Produce requests in flight per broker (Java's
    /// `max.in.flight.requests.per.connection`, 5; at most 5 with idempotence).
    pub max_in_flight_requests_per_connection: usize,
    /// The largest produce request, and so the largest record (Java's `max.request.size`,
    /// 1 MiB).
    pub max_request_size: usize,
    /// The client id sent to brokers (Java's `client.id`).
    pub client_id: String,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        let accumulator = AccumulatorConfig::default();
        Self {
            batch_size: accumulator.batch_size,
            linger: Duration::from_millis(accumulator.linger_ms),
            acks: Acks::All,
            idempotence: true,
            compression: Compression::None,
            compression_level: None,
            buffer_memory: accumulator.buffer_memory,
            max_block: Duration::from_millis(accumulator.max_block_ms),
            delivery_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            max_in_flight_requests_per_connection: 5,
            max_request_size: 1024 * 1024,
            client_id: "krafka-producer".to_owned(),
        }
    }
}

/// A setting the builder refused, naming it as the builder does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfigError {
    /// The setting (or settings) at fault.
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ProducerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid producer setting {}: {}",
            self.setting, self.reason
        )
    }
}

impl std::error::Error for ProducerConfigError {}

fn refuse(setting: &'static str, reason: impl Into<String>) -> Result<(), ProducerConfigError> {
    Err(ProducerConfigError {
        setting,
        reason: reason.into(),
    })
}

/// Idempotence keeps at most this many requests in flight: the broker remembers the last five
/// batches of each producer for deduplication.
pub const MAX_IDEMPOTENT_IN_FLIGHT: usize = 5;

impl ProducerConfig {
    /// Checks the settings against each other, as Java's `ProducerConfig` does.
    pub fn validate(&self) -> Result<(), ProducerConfigError> {
        if self.idempotence && self.acks != Acks::All {
            return refuse(
                "idempotence / acks",
                format!(
                    "idempotence needs acks=all, not {:?}; turn idempotence off for weaker acks",
                    self.acks
                ),
            );
        }
        if self.max_in_flight_requests_per_connection == 0 {
            return refuse(
                "max_in_flight_requests_per_connection",
                "must be at least 1",
            );
        }
        if self.idempotence && self.max_in_flight_requests_per_connection > MAX_IDEMPOTENT_IN_FLIGHT
        {
            return refuse(
                "max_in_flight_requests_per_connection",
                format!(
                    "{} is more than the {MAX_IDEMPOTENT_IN_FLIGHT} an idempotent producer may \
                     keep in flight",
                    self.max_in_flight_requests_per_connection
                ),
            );
        }
        let floor = self.linger.saturating_add(self.request_timeout);
        if self.delivery_timeout < floor {
            return refuse(
                "delivery_timeout",
                format!(
                    "{:?} is less than linger + request_timeout ({floor:?}); a record could time \
                     out before its first request did",
                    self.delivery_timeout
                ),
            );
        }
        if self.batch_size > self.buffer_memory {
            return refuse(
                "batch_size / buffer_memory",
                format!(
                    "a batch of {} bytes cannot fit in buffer_memory of {} bytes",
                    self.batch_size, self.buffer_memory
                ),
            );
        }
        if self.buffer_memory == 0 || self.buffer_memory > u32::MAX as usize {
            return refuse(
                "buffer_memory",
                format!(
                    "must be between 1 byte and 4 GiB, not {}",
                    self.buffer_memory
                ),
            );
        }
        if self.max_request_size == 0 || self.max_request_size > i32::MAX as usize {
            return refuse("max_request_size", "must be between 1 byte and 2 GiB");
        }
        if self.retry_backoff.is_zero() || self.retry_backoff > self.retry_backoff_max {
            return refuse(
                "retry_backoff",
                "the first backoff must be positive and at most the largest",
            );
        }
        if self.request_timeout.is_zero() || self.request_timeout.as_millis() > i32::MAX as u128 {
            return refuse(
                "request_timeout",
                "must be positive and fit in i32 milliseconds",
            );
        }
        Ok(())
    }

    /// The accumulator part of the settings.
    pub fn accumulator(&self) -> AccumulatorConfig {
        AccumulatorConfig {
            buffer_memory: self.buffer_memory,
            max_block_ms: u64::try_from(self.max_block.as_millis()).unwrap_or(u64::MAX),
            batch_size: self.batch_size,
            linger_ms: u64::try_from(self.linger.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Applies an [`AccumulatorConfig`] over these settings.
    pub fn set_accumulator(&mut self, accumulator: &AccumulatorConfig) {
        self.buffer_memory = accumulator.buffer_memory;
        self.max_block = Duration::from_millis(accumulator.max_block_ms);
        self.batch_size = accumulator.batch_size;
        self.linger = Duration::from_millis(accumulator.linger_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_javas_and_valid() {
        let c = ProducerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!(c.acks, Acks::All);
        assert!(c.idempotence);
        assert_eq!(c.buffer_memory, 33_554_432);
        assert_eq!(c.max_block, Duration::from_secs(60));
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.max_in_flight_requests_per_connection, 5);
        assert_eq!(c.max_request_size, 1_048_576);
    }

    #[test]
    fn contradictions_are_refused_by_name() {
        let bad = [
            (
                ProducerConfig {
                    acks: Acks::Leader,
                    ..Default::default()
                },
                "idempotence / acks",
            ),
            (
                ProducerConfig {
                    delivery_timeout: Duration::from_secs(10),
                    ..Default::default()
                },
                "delivery_timeout",
            ),
            (
                ProducerConfig {
                    batch_size: 64 << 20,
                    ..Default::default()
                },
                "batch_size / buffer_memory",
            ),
            (
                ProducerConfig {
                    max_in_flight_requests_per_connection: 6,
                    ..Default::default()
                },
                "max_in_flight_requests_per_connection",
            ),
        ];
        for (config, setting) in bad {
            let err = config.validate().unwrap_err();
            assert_eq!(err.setting, setting, "{err}");
            assert!(err.to_string().contains(setting));
        }
        // Weaker acks are fine without idempotence.
        ProducerConfig {
            acks: Acks::Leader,
            idempotence: false,
            max_in_flight_requests_per_connection: 10,
            ..Default::default()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn accumulator_config_round_trips() {
        let mut c = ProducerConfig::default();
        c.set_accumulator(&AccumulatorConfig {
            buffer_memory: 1 << 20,
            max_block_ms: 10,
            ..Default::default()
        });
        assert_eq!(c.buffer_memory, 1 << 20);
        assert_eq!(c.max_block, Duration::from_millis(10));
        assert_eq!(c.accumulator().batch_size, 16 * 1024);
    }
}
