//! The record batch (magic 2): its header layout, a decoded view of one batch, the iterator
//! over its records, and the in-place edits a broker makes to a stored batch.
//!
//! Layout (big-endian), with the byte offsets the rest of this module uses:
//!
//! ```text
//!  0 baseOffset i64          27 baseTimestamp i64
//!  8 batchLength i32         35 maxTimestamp i64
//! 12 partitionLeaderEpoch    43 producerId i64
//! 16 magic i8 (= 2)          51 producerEpoch i16
//! 17 crc u32 (CRC32C of 21..) 53 baseSequence i32
//! 21 attributes i16          57 recordCount i32
//! 23 lastOffsetDelta i32     61 records…
//! ```
//!
//! The CRC covers everything from the attributes on, so a broker can assign the base offset
//! and partition leader epoch without recomputing it.

use bytes::Bytes;

use super::common::{DecodeOptions, TimestampType};
use super::record::{Record, RecordContext, RecordSpans, RecordView, parse_record};
use crate::DecodeError;
use crate::codec::SliceReader as Cursor;
use crate::compression::Compression;

/// The size of a record batch header: the smallest possible batch, with no records.
pub const RECORD_BATCH_OVERHEAD: usize = 61;

pub(crate) const BASE_OFFSET_AT: usize = 0;
pub(crate) const LENGTH_AT: usize = 8;
/// The offset and length fields precede what `batchLength` counts.
pub(crate) const LOG_OVERHEAD: usize = 12;
pub(crate) const LEADER_EPOCH_AT: usize = 12;
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;
pub(crate) const ATTRIBUTES_AT: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(crate) const BASE_TIMESTAMP_AT: usize = 27;
pub(crate) const MAX_TIMESTAMP_AT: usize = 35;
pub(crate) const PRODUCER_ID_AT: usize = 43;
pub(crate) const PRODUCER_EPOCH_AT: usize = 51;
pub(crate) const BASE_SEQUENCE_AT: usize = 53;
pub(crate) const RECORD_COUNT_AT: usize = 57;

pub(crate) const COMPRESSION_MASK: i16 = 0x07;
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub(crate) const TRANSACTIONAL_BIT: i16 = 0x10;
pub(crate) const CONTROL_BIT: i16 = 0x20;
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;

/// Big-endian field reads at fixed offsets of a buffer whose length was checked first.
fn field<const N: usize>(raw: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(src) = raw.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

fn i16_at(raw: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(field(raw, at))
}

fn i32_at(raw: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(field(raw, at))
}

fn i64_at(raw: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(field(raw, at))
}

/// One record batch (magic 2), decoded from its header; the records are read on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    raw: Bytes,
    compression: Compression,
}

impl RecordBatch {
    /// Splits one record batch off the front of `buf` and checks its header: the magic, the
    /// batch length against the bytes present, the compression id and record count, and
    /// (when `options.verify_crc`) the CRC32C.
    ///
    /// `buf` is advanced only on success. A batch cut short is an error here; [`RecordSet`]
    /// is what treats a trailing partial batch as the end of a fetch.
    ///
    /// [`RecordSet`]: super::RecordSet
    pub fn decode(buf: &mut Bytes, options: &DecodeOptions) -> Result<Self, DecodeError> {
        let magic = *buf.get(MAGIC_AT).ok_or(DecodeError::Truncated {
            what: "record batch header",
        })? as i8;
        if magic != 2 {
            return Err(DecodeError::UnsupportedMagic(magic));
        }
        let length = i32_at(buf, LENGTH_AT);
        let size = usize::try_from(length)
            .ok()
            .filter(|n| *n >= RECORD_BATCH_OVERHEAD - LOG_OVERHEAD)
            .ok_or(DecodeError::InvalidLength {
                what: "record batch",
                length: i64::from(length),
            })?
            + LOG_OVERHEAD;
        if size > buf.len() {
            return Err(DecodeError::Truncated {
                what: "record batch",
            });
        }
        let attributes = i16_at(buf, ATTRIBUTES_AT);
        let id = (attributes & COMPRESSION_MASK) as u8;
        let compression = Compression::from_id(id).ok_or(DecodeError::UnknownCompression(id))?;
        let count = i32_at(buf, RECORD_COUNT_AT);
        if count < 0 {
            return Err(DecodeError::InvalidLength {
                what: "record count",
                length: i64::from(count),
            });
        }
        let batch = Self {
            raw: buf.slice(..size),
            compression,
        };
        if options.verify_crc {
            batch.verify_crc()?;
        }
        *buf = buf.slice(size..);
        Ok(batch)
    }

    /// Checks the stored CRC32C against the batch's contents.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let actual = self.compute_crc();
        if actual != self.crc() {
            return Err(DecodeError::CrcMismatch {
                expected: self.crc(),
                actual,
            });
        }
        Ok(())
    }

    /// The CRC32C of the batch's contents (attributes to the end).
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(self.raw.get(ATTRIBUTES_AT..).unwrap_or_default())
    }

    /// The whole encoded batch, from `baseOffset` on.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The encoded size in bytes.
    pub fn size_in_bytes(&self) -> usize {
        self.raw.len()
    }

    /// The offset of the first record.
    pub fn base_offset(&self) -> i64 {
        i64_at(&self.raw, BASE_OFFSET_AT)
    }

    /// The offset of the last record (which compaction may have removed).
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .wrapping_add(i64::from(self.last_offset_delta()))
    }

    /// The offset after this batch, where a consumer continues.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The `batchLength` field: the size after the offset and length fields.
    pub fn batch_length(&self) -> i32 {
        i32_at(&self.raw, LENGTH_AT)
    }

    /// The leader epoch of the broker that appended the batch.
    pub fn partition_leader_epoch(&self) -> i32 {
        i32_at(&self.raw, LEADER_EPOCH_AT)
    }

    /// Always 2.
    pub fn magic(&self) -> i8 {
        2
    }

    /// The stored CRC32C.
    pub fn crc(&self) -> u32 {
        u32::from_be_bytes(field(&self.raw, CRC_AT))
    }

    /// The raw attributes.
    pub fn attributes(&self) -> i16 {
        i16_at(&self.raw, ATTRIBUTES_AT)
    }

    /// The codec of the records section.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether record timestamps are the producer's or the broker's.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records (transaction markers) rather than data.
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }

    /// The delete horizon a compacting broker set, which then replaces the base timestamp.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes() & DELETE_HORIZON_BIT != 0).then(|| self.base_timestamp())
    }

    /// The offset of the last record relative to the base offset.
    pub fn last_offset_delta(&self) -> i32 {
        i32_at(&self.raw, LAST_OFFSET_DELTA_AT)
    }

    /// The timestamp the record timestamps are deltas from.
    pub fn base_timestamp(&self) -> i64 {
        i64_at(&self.raw, BASE_TIMESTAMP_AT)
    }

    /// The largest record timestamp, or the log append time.
    pub fn max_timestamp(&self) -> i64 {
        i64_at(&self.raw, MAX_TIMESTAMP_AT)
    }

    /// The idempotent producer's id, or -1.
    pub fn producer_id(&self) -> i64 {
        i64_at(&self.raw, PRODUCER_ID_AT)
    }

    /// The idempotent producer's epoch, or -1.
    pub fn producer_epoch(&self) -> i16 {
        i16_at(&self.raw, PRODUCER_EPOCH_AT)
    }

    /// The sequence number of the first record, or -1.
    pub fn base_sequence(&self) -> i32 {
        i32_at(&self.raw, BASE_SEQUENCE_AT)
    }

    /// The sequence number of the last record (wrapping at `i32::MAX`, as in Kafka), or -1.
    pub fn last_sequence(&self) -> i32 {
        match self.base_sequence() {
            -1 => -1,
            base => {
                let last = i64::from(base) + i64::from(self.last_offset_delta());
                (last % (i64::from(i32::MAX) + 1)) as i32
            }
        }
    }

    /// The number of records.
    pub fn record_count(&self) -> i32 {
        i32_at(&self.raw, RECORD_COUNT_AT)
    }

    /// The records section as stored (compressed when [`RecordBatch::compression`] is not
    /// `None`).
    pub fn records_section(&self) -> Bytes {
        self.raw.slice(RECORD_BATCH_OVERHEAD..)
    }

    /// The records. A compressed section is decompressed here, once, bounded by
    /// `options.max_decompressed_size`; the records are slices of that one buffer.
    pub fn records(&self, options: &DecodeOptions) -> Result<V2Records, DecodeError> {
        let section = self.records_section();
        // The bound is on what decompression could allocate; an uncompressed section is
        // already in memory and is only sliced.
        let section = if self.compression == Compression::None {
            section
        } else {
            options
                .codecs
                .decompress(self.compression, &section, options.max_decompressed_size)?
        };
        Ok(V2Records {
            data: section,
            pos: 0,
            remaining: self.record_count() as u32,
            ctx: RecordContext {
                base_offset: self.base_offset(),
                base_timestamp: self.base_timestamp(),
                timestamp_type: self.timestamp_type(),
                max_timestamp: self.max_timestamp(),
            },
            failed: false,
        })
    }
}

/// The records of one [`RecordBatch`], in order.
///
/// Yields an error, then ends, when the section holds fewer records than the batch declares,
/// more bytes than those records, or a malformed record.
#[derive(Debug, Clone)]
pub struct V2Records {
    data: Bytes,
    pos: usize,
    remaining: u32,
    ctx: RecordContext,
    failed: bool,
}

impl V2Records {
    #[inline]
    fn next_spans(&mut self) -> Option<Result<RecordSpans, DecodeError>> {
        if self.failed {
            return None;
        }
        if self.remaining == 0 {
            if self.pos < self.data.len() {
                self.failed = true;
                return Some(Err(DecodeError::TrailingBytes {
                    what: "record batch",
                    count: self.data.len() - self.pos,
                }));
            }
            return None;
        }
        self.remaining -= 1;
        let mut cursor = Cursor::new(&self.data, self.pos);
        let result = parse_record(&mut cursor, &self.ctx);
        self.pos = cursor.pos;
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }

    /// The next record, borrowed from the batch: no reference counting and no allocation, for
    /// code that handles each record before asking for the next. Shares its position with the
    /// `Iterator` implementation, so the two may be mixed.
    pub fn next_view(&mut self) -> Option<Result<RecordView<'_>, DecodeError>> {
        let spans = self.next_spans()?;
        Some(spans.map(|s| s.to_view(&self.data)))
    }
}

impl Iterator for V2Records {
    type Item = Result<Record, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let spans = self.next_spans()?;
        Some(spans.map(|s| s.to_record(&self.data)))
    }
}

/// Checks that `batch` starts with a whole v2 record batch, for the in-place edits, and
/// returns where that batch ends (the buffer may hold more after it).
fn check_editable(batch: &[u8]) -> Result<usize, DecodeError> {
    if batch.len() < RECORD_BATCH_OVERHEAD {
        return Err(DecodeError::Truncated {
            what: "record batch header",
        });
    }
    let magic = batch[MAGIC_AT] as i8;
    if magic != 2 {
        return Err(DecodeError::UnsupportedMagic(magic));
    }
    let length = i32_at(batch, LENGTH_AT);
    usize::try_from(length)
        .ok()
        .map(|n| n + LOG_OVERHEAD)
        .filter(|end| (RECORD_BATCH_OVERHEAD..=batch.len()).contains(end))
        .ok_or(DecodeError::InvalidLength {
            what: "record batch",
            length: i64::from(length),
        })
}

fn put_at(batch: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = batch.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Rewrites the base offset of an encoded v2 batch in place, as a broker does when it appends
/// the batch to its log. The CRC does not cover the field, so it stays valid.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) -> Result<(), DecodeError> {
    check_editable(batch)?;
    put_at(batch, BASE_OFFSET_AT, &base_offset.to_be_bytes());
    Ok(())
}

/// Rewrites the partition leader epoch of an encoded v2 batch in place. The CRC does not
/// cover the field, so it stays valid.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) -> Result<(), DecodeError> {
    check_editable(batch)?;
    put_at(batch, LEADER_EPOCH_AT, &epoch.to_be_bytes());
    Ok(())
}

/// Marks an encoded v2 batch as carrying log append time `timestamp`, as a broker does for a
/// topic with `message.timestamp.type=LogAppendTime`: sets the timestamp type attribute and
/// the max timestamp, and recomputes the CRC (which covers both).
pub fn set_log_append_time(batch: &mut [u8], timestamp: i64) -> Result<(), DecodeError> {
    let end = check_editable(batch)?;
    let attributes = i16_at(batch, ATTRIBUTES_AT) | TIMESTAMP_TYPE_BIT;
    put_at(batch, ATTRIBUTES_AT, &attributes.to_be_bytes());
    put_at(batch, MAX_TIMESTAMP_AT, &timestamp.to_be_bytes());
    let crc = crc32c::crc32c(batch.get(ATTRIBUTES_AT..end).unwrap_or_default());
    put_at(batch, CRC_AT, &crc.to_be_bytes());
    Ok(())
}

/// Stamps an encoded v2 batch with an idempotent producer's id, epoch and first sequence, and
/// recomputes the CRC (which covers them). A producer seals (and compresses) a batch when it is
/// full, but learns its sequence only when the batch is drained for sending, and must restamp
/// it after an epoch bump; this patches 14 header bytes instead of rebuilding the batch.
pub fn set_producer_state(
    batch: &mut [u8],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<(), DecodeError> {
    let end = check_editable(batch)?;
    put_at(batch, PRODUCER_ID_AT, &producer_id.to_be_bytes());
    put_at(batch, PRODUCER_EPOCH_AT, &producer_epoch.to_be_bytes());
    put_at(batch, BASE_SEQUENCE_AT, &base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(batch.get(ATTRIBUTES_AT..end).unwrap_or_default());
    put_at(batch, CRC_AT, &crc.to_be_bytes());
    Ok(())
}
