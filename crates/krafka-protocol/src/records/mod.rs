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
mod common;
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
pub use common::{
    DecodeOptions, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
    NO_TIMESTAMP, TimestampType,
};
pub use control::{ControlRecordKey, ControlRecordType, EndTransactionMarker};
pub use legacy::{LegacyBatch, LegacyRecords};
pub use record::{Header, Headers, HeadersIter, HeadersView, Record, RecordView};
pub use set::{Batch, BatchRecords, RecordSet, SetRecords};
