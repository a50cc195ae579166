//! What every record format shares: the "none" values of a batch's producer fields, what a
//! timestamp means, and how decoding is bounded.

use crate::compression::{Codecs, DEFAULT_MAX_DECOMPRESSED_SIZE};

/// The producer id of a record batch written without idempotence.
pub const NO_PRODUCER_ID: i64 = -1;
/// The producer epoch of a record batch written without idempotence.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// The base sequence of a record batch written without idempotence.
pub const NO_SEQUENCE: i32 = -1;
/// The partition leader epoch a producer writes; the broker fills in the real one.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// A missing timestamp (magic-0 messages have none).
pub const NO_TIMESTAMP: i64 = -1;

/// What a record's timestamp means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// No timestamp (magic-0 messages).
    NoTimestamp,
    /// The producer set the timestamp when it created the record.
    #[default]
    CreateTime,
    /// The broker set the timestamp when it appended the batch to its log.
    LogAppendTime,
}

/// How record batches and message sets are decoded.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Verify each batch's checksum (CRC32C for v2, CRC32 per message for v0/v1). Kafka's
    /// consumer does this when `check.crcs` is true, its default.
    pub verify_crc: bool,
    /// The bound on one decompressed records section (or legacy wrapper's inner message set).
    pub max_decompressed_size: usize,
    /// The codecs to decompress with.
    pub codecs: Codecs,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            verify_crc: true,
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED_SIZE,
            codecs: Codecs::default(),
        }
    }
}
