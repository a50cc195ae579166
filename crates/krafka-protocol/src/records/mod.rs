//! Kafka's record formats: record batches (magic 2) and legacy message sets (magic 0 and 1).
//!
//! A Produce request's and a Fetch response's `records` field is opaque bytes to the generated
//! message codecs; this module gives it meaning. It owns:
//!
//! - [`RecordBatchBuilder`]: the producer's encoder, which writes each record straight into
//!   the batch buffer as it is appended and compresses and checksums once, at seal;
//! - [`RecordBatch`] and [`RecordSet`]: decoding, zero-copy (keys, values and headers are
//!   `Bytes` slices of the input or of the one decompressed records section), bounded
//!   (decompression stops at [`DecodeOptions::max_decompressed_size`]) and total (hostile or
//!   truncated input is an error, never a panic);
//! - [`LegacyBatch`]: magic 0 and 1 messages, including compressed wrapper messages, which
//!   old brokers and topics with an old `message.format.version` still return;
//! - control records ([`ControlRecordKey`], [`EndTransactionMarker`]) and the broker-side
//!   helpers ([`set_base_offset`] and friends) the mock broker uses to assign offsets.

mod batch;
mod builder;
mod control;
mod legacy;
mod record;
mod set;
#[cfg(test)]
mod tests;

pub use batch::{
    RECORD_BATCH_OVERHEAD, RecordBatch, V2Records, set_base_offset, set_log_append_time,
    set_partition_leader_epoch, set_producer_state,
};
pub use builder::{BatchOptions, RecordBatchBuilder};
pub use control::{ControlRecordKey, ControlRecordType, EndTransactionMarker};
pub use legacy::{LegacyBatch, LegacyRecords};
pub use record::{Header, Headers, HeadersIter, HeadersView, Record, RecordView};
pub use set::{Batch, BatchRecords, RecordSet, SetRecords};

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
