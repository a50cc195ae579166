//! The record batch encoder a producer appends to.
//!
//! A producer's accumulator appends records one at a time and seals the batch when it reaches
//! `batch.size` or `linger.ms` expires, so the builder writes each record straight into the
//! one buffer that becomes the batch: the 61-byte header is reserved up front and filled in at
//! [`RecordBatchBuilder::finish`], which also compresses the records section (once) and
//! computes the CRC (once). An uncompressed batch is never copied after the append that wrote
//! it. Each record's length is computed arithmetically before its body is written, so nothing
//! is written twice and nothing is allocated per record.

use bytes::{BufMut, Bytes, BytesMut};

use super::batch::{
    ATTRIBUTES_AT, BASE_OFFSET_AT, BASE_SEQUENCE_AT, BASE_TIMESTAMP_AT, CONTROL_BIT, CRC_AT,
    LAST_OFFSET_DELTA_AT, LEADER_EPOCH_AT, LENGTH_AT, LOG_OVERHEAD, MAGIC_AT, MAX_TIMESTAMP_AT,
    PRODUCER_EPOCH_AT, PRODUCER_ID_AT, RECORD_BATCH_OVERHEAD, RECORD_COUNT_AT, TRANSACTIONAL_BIT,
};
use super::common::{
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP,
};
use crate::EncodeError;
use crate::codec::{put_varint, put_varlong, varint_len, varlong_len};
use crate::compression::{Codecs, Compression};

/// How a [`RecordBatchBuilder`] writes its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// The codec for the records section.
    pub compression: Compression,
    /// The codec's level; `None` for its default.
    pub compression_level: Option<i32>,
    /// The idempotent producer's id, or [`NO_PRODUCER_ID`].
    pub producer_id: i64,
    /// The idempotent producer's epoch, or [`NO_PRODUCER_EPOCH`].
    pub producer_epoch: i16,
    /// The sequence number of the first record, or [`NO_SEQUENCE`].
    pub base_sequence: i32,
    /// Whether the batch is part of a transaction.
    pub transactional: bool,
    /// Whether the batch holds control records. Only transaction coordinators and brokers
    /// write these; see [`EndTransactionMarker::to_batch`](super::EndTransactionMarker::to_batch).
    pub control: bool,
    /// The timestamp record timestamps are stored relative to; `None` uses the first
    /// record's, as Kafka's producer does.
    pub base_timestamp: Option<i64>,
    /// The offset of the first record. Producers send 0; the broker assigns the real one.
    pub base_offset: i64,
    /// The partition leader epoch; producers send [`NO_PARTITION_LEADER_EPOCH`].
    pub partition_leader_epoch: i32,
    /// The initial capacity of the batch buffer (a producer passes `batch.size`).
    pub initial_capacity: usize,
    /// The expected compressed size as a fraction of the uncompressed size, used only by
    /// [`RecordBatchBuilder::size_estimate`]. Kafka's producer starts at 1.0 and adapts it
    /// per topic from the ratios it observes.
    pub estimated_compression_ratio: f32,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            compression: Compression::None,
            compression_level: None,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            base_timestamp: None,
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            initial_capacity: 16 * 1024,
            estimated_compression_ratio: 1.0,
        }
    }
}

/// Builds one record batch (magic 2) by appending records.
#[derive(Debug)]
pub struct RecordBatchBuilder {
    buf: BytesMut,
    options: BatchOptions,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

/// The encoded size of a nullable varint-length-prefixed field.
#[inline]
fn field_size(field: Option<&[u8]>, what: &'static str) -> Result<usize, EncodeError> {
    match field {
        None => Ok(1),
        Some(bytes) => {
            let len = i32::try_from(bytes.len()).map_err(|_| EncodeError::TooLong {
                what,
                length: bytes.len(),
            })?;
            Ok(varint_len(len) + bytes.len())
        }
    }
}

/// The encoded size of a headers section, count included.
#[inline]
fn headers_size(headers: &[(&str, Option<&[u8]>)]) -> Result<usize, EncodeError> {
    let count = i32::try_from(headers.len()).map_err(|_| EncodeError::TooLong {
        what: "record headers",
        length: headers.len(),
    })?;
    let mut size = varint_len(count);
    for (key, value) in headers {
        size += field_size(Some(key.as_bytes()), "header key")?;
        size += field_size(*value, "header value")?;
    }
    Ok(size)
}

#[inline]
fn put_field(buf: &mut BytesMut, field: Option<&[u8]>) {
    match field {
        // Lengths were checked against i32 when the record was sized.
        Some(bytes) => {
            put_varint(buf, bytes.len() as i32);
            buf.extend_from_slice(bytes);
        }
        None => buf.put_u8(1), // -1, zig-zag encoded
    }
}

impl RecordBatchBuilder {
    /// Starts an empty batch.
    pub fn new(options: BatchOptions) -> Self {
        let buf = BytesMut::with_capacity(options.initial_capacity.max(RECORD_BATCH_OVERHEAD));
        Self::with_buffer(options, buf)
    }

    /// Starts an empty batch in `buf` (cleared first), so a producer can reuse buffers.
    pub fn with_buffer(options: BatchOptions, mut buf: BytesMut) -> Self {
        buf.clear();
        // The header is filled in at `finish`; reserving it now lets records go straight to
        // their final place.
        buf.resize(RECORD_BATCH_OVERHEAD, 0);
        Self {
            buf,
            base_timestamp: options.base_timestamp.unwrap_or(0),
            options,
            count: 0,
            max_timestamp: NO_TIMESTAMP,
        }
    }

    /// Appends a record and returns its offset delta (its index in the batch).
    ///
    /// Fails, leaving the batch unchanged, when a field is too long for the format, the
    /// timestamp cannot be stored relative to the base timestamp, or the batch already holds
    /// `i32::MAX` records.
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<i32, EncodeError> {
        let offset_delta = self.count;
        if offset_delta == i32::MAX {
            return Err(EncodeError::InvalidRecord {
                what: "too many records in one batch",
            });
        }
        let base_timestamp = if offset_delta == 0 && self.options.base_timestamp.is_none() {
            timestamp
        } else {
            self.base_timestamp
        };
        let timestamp_delta =
            timestamp
                .checked_sub(base_timestamp)
                .ok_or(EncodeError::InvalidRecord {
                    what: "timestamp too far from the batch's base timestamp",
                })?;
        let body = 1
            + varlong_len(timestamp_delta)
            + varint_len(offset_delta)
            + field_size(key, "record key")?
            + field_size(value, "record value")?
            + headers_size(headers)?;
        let body_len = i32::try_from(body).map_err(|_| EncodeError::TooLong {
            what: "record",
            length: body,
        })?;

        let buf = &mut self.buf;
        buf.reserve(varint_len(body_len) + body);
        put_varint(buf, body_len);
        buf.put_u8(0); // record attributes: unused
        put_varlong(buf, timestamp_delta);
        put_varint(buf, offset_delta);
        put_field(buf, key);
        put_field(buf, value);
        put_varint(buf, headers.len() as i32);
        for (key, value) in headers {
            put_field(buf, Some(key.as_bytes()));
            put_field(buf, *value);
        }

        self.base_timestamp = base_timestamp;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
        Ok(offset_delta)
    }

    /// The number of records appended.
    pub fn record_count(&self) -> i32 {
        self.count
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The options the batch is built with.
    pub fn options(&self) -> &BatchOptions {
        &self.options
    }

    /// The size of the records section so far, before compression.
    pub fn records_size(&self) -> usize {
        self.buf.len() - RECORD_BATCH_OVERHEAD
    }

    /// The expected size of the finished batch, for sealing it at `batch.size`: exact for an
    /// uncompressed batch, and scaled by
    /// [`BatchOptions::estimated_compression_ratio`] for a compressed one.
    pub fn size_estimate(&self) -> usize {
        if self.options.compression == Compression::None {
            self.buf.len()
        } else {
            let scaled =
                self.records_size() as f64 * f64::from(self.options.estimated_compression_ratio);
            RECORD_BATCH_OVERHEAD + scaled as usize
        }
    }

    /// Whether a record with these fields fits within `limit` bytes by
    /// [`RecordBatchBuilder::size_estimate`]. An empty batch always has room, as in Kafka's
    /// producer: a record larger than the limit gets a batch of its own.
    pub fn has_room_for(
        &self,
        limit: usize,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> bool {
        if self.count == 0 {
            return true;
        }
        if self.count == i32::MAX {
            return false;
        }
        // The worst case for the fields whose size depends on the timestamp and position:
        // length prefix (5), attributes (1), timestamp delta (10), offset delta (5).
        let record = field_size(key, "")
            .and_then(|k| Ok(k + field_size(value, "")? + headers_size(headers)?))
            .map(|fields| fields + 21);
        let Ok(record) = record else {
            return false;
        };
        let scaled = if self.options.compression == Compression::None {
            record
        } else {
            (record as f64 * f64::from(self.options.estimated_compression_ratio)) as usize
        };
        self.size_estimate().saturating_add(scaled) <= limit
    }

    /// Seals the batch: compresses the records section if the options ask for it, fills in the
    /// header and computes the CRC.
    pub fn finish(self, codecs: &Codecs) -> Result<Bytes, EncodeError> {
        self.finish_mut(codecs).map(BytesMut::freeze)
    }

    /// Like [`finish`](Self::finish), but leaves the batch writable, so that a producer can
    /// stamp its sequence into it later with [`set_producer_state`](super::set_producer_state).
    pub fn finish_mut(self, codecs: &Codecs) -> Result<BytesMut, EncodeError> {
        if self.count == 0 {
            return Err(EncodeError::InvalidRecord {
                what: "a record batch needs at least one record",
            });
        }
        let options = &self.options;
        let mut buf = if options.compression == Compression::None {
            self.buf
        } else {
            let records = self.buf.get(RECORD_BATCH_OVERHEAD..).unwrap_or_default();
            let mut out = BytesMut::with_capacity(RECORD_BATCH_OVERHEAD + records.len() / 2 + 64);
            out.resize(RECORD_BATCH_OVERHEAD, 0);
            codecs.compress(
                options.compression,
                records,
                options.compression_level,
                &mut out,
            )?;
            out
        };
        // A user codec must only append; one that cleared or replaced the header space would
        // otherwise make the header writes below go out of bounds.
        if buf.len() < RECORD_BATCH_OVERHEAD {
            return Err(EncodeError::Compression {
                codec: options.compression.name(),
            });
        }
        let batch_length = buf.len() - LOG_OVERHEAD;
        let batch_length = i32::try_from(batch_length).map_err(|_| EncodeError::TooLong {
            what: "record batch",
            length: batch_length,
        })?;
        let mut attributes = i16::from(options.compression.id());
        if options.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if options.control {
            attributes |= CONTROL_BIT;
        }
        let header = &mut buf[..RECORD_BATCH_OVERHEAD];
        let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
        put(BASE_OFFSET_AT, &options.base_offset.to_be_bytes());
        put(LENGTH_AT, &batch_length.to_be_bytes());
        put(
            LEADER_EPOCH_AT,
            &options.partition_leader_epoch.to_be_bytes(),
        );
        put(MAGIC_AT, &[2]);
        put(ATTRIBUTES_AT, &attributes.to_be_bytes());
        put(LAST_OFFSET_DELTA_AT, &(self.count - 1).to_be_bytes());
        put(BASE_TIMESTAMP_AT, &self.base_timestamp.to_be_bytes());
        put(MAX_TIMESTAMP_AT, &self.max_timestamp.to_be_bytes());
        put(PRODUCER_ID_AT, &options.producer_id.to_be_bytes());
        put(PRODUCER_EPOCH_AT, &options.producer_epoch.to_be_bytes());
        put(BASE_SEQUENCE_AT, &options.base_sequence.to_be_bytes());
        put(RECORD_COUNT_AT, &self.count.to_be_bytes());
        let crc = crc32c::crc32c(&buf[ATTRIBUTES_AT..]);
        buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(buf)
    }
}
