//! Walking a whole `records` field: one batch after another, whatever their format.
//!
//! A Fetch response partition's records may mix formats (a topic upgraded from message format
//! v1 to v2 holds both), and the magic byte sits at offset 16 in all of them, after the
//! 8-byte offset and the 4-byte size (and a 4-byte CRC or leader epoch). The broker also cuts
//! the field at the fetch's byte limit without regard to batch boundaries, so a trailing
//! partial batch is the normal end of the data, not an error; Kafka's consumer treats it the
//! same way.

use bytes::Bytes;

use super::batch::{RecordBatch, V2Records};
use super::common::{DecodeOptions, NO_PRODUCER_ID};
use super::legacy::{LegacyBatch, LegacyRecords};
use super::record::Record;
use crate::DecodeError;
use crate::compression::Compression;

/// The offset and size fields every format starts with.
const LOG_OVERHEAD: usize = 12;
/// The smallest message any format allows after those (a v0 message with empty fields).
const MIN_ENTRY_SIZE: usize = 14;
const MAGIC_AT: usize = 16;

/// One batch of a records field: a v2 record batch, or a legacy (v0/v1) message or compressed
/// wrapper message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// A record batch (magic 2).
    V2(RecordBatch),
    /// A legacy message (magic 0 or 1).
    Legacy(LegacyBatch),
}

impl Batch {
    /// The format version.
    pub fn magic(&self) -> i8 {
        match self {
            Self::V2(b) => b.magic(),
            Self::Legacy(b) => b.magic(),
        }
    }

    /// The offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        match self {
            Self::V2(b) => b.last_offset(),
            Self::Legacy(b) => b.last_offset(),
        }
    }

    /// The offset after the batch, where a consumer continues even if it skips the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The codec of the batch's records.
    pub fn compression(&self) -> Compression {
        match self {
            Self::V2(b) => b.compression(),
            Self::Legacy(b) => b.compression(),
        }
    }

    /// Whether the batch holds control records (never for legacy messages).
    pub fn is_control(&self) -> bool {
        matches!(self, Self::V2(b) if b.is_control())
    }

    /// Whether the batch belongs to a transaction (never for legacy messages).
    pub fn is_transactional(&self) -> bool {
        matches!(self, Self::V2(b) if b.is_transactional())
    }

    /// The producer id, or -1 (always for legacy messages).
    pub fn producer_id(&self) -> i64 {
        match self {
            Self::V2(b) => b.producer_id(),
            Self::Legacy(_) => NO_PRODUCER_ID,
        }
    }

    /// The encoded size in bytes.
    pub fn size_in_bytes(&self) -> usize {
        match self {
            Self::V2(b) => b.size_in_bytes(),
            Self::Legacy(b) => b.size_in_bytes(),
        }
    }

    /// The whole encoded batch.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Self::V2(b) => b.as_bytes(),
            Self::Legacy(b) => b.as_bytes(),
        }
    }

    /// The batch's records (decompressed once, bounded, when compressed).
    pub fn records(&self, options: &DecodeOptions) -> Result<BatchRecords, DecodeError> {
        Ok(match self {
            Self::V2(b) => BatchRecords::V2(b.records(options)?),
            Self::Legacy(b) => BatchRecords::Legacy(b.records(options)?),
        })
    }
}

/// The records of a [`Batch`].
#[derive(Debug, Clone)]
pub enum BatchRecords {
    /// Records of a record batch.
    V2(V2Records),
    /// Records of a legacy message.
    Legacy(LegacyRecords),
}

impl Iterator for BatchRecords {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::V2(r) => r.next(),
            Self::Legacy(r) => r.next(),
        }
    }
}

/// The batches of a `records` field (a Fetch response partition's, or a Produce request's),
/// in order, whatever their format.
///
/// Ends at the end of the data or at a trailing partial batch ([`RecordSet::remaining`] then
/// tells how many bytes were left over). A malformed batch yields one error, after which the
/// iteration ends: the position of anything after it cannot be trusted.
#[derive(Debug, Clone)]
pub struct RecordSet {
    buf: Bytes,
    options: DecodeOptions,
    failed: bool,
}

impl RecordSet {
    /// Iterates `records` with the default options (CRC checked, default decompression bound,
    /// built-in codecs).
    pub fn new(records: Bytes) -> Self {
        Self::with_options(records, DecodeOptions::default())
    }

    /// Iterates `records` with the given options.
    pub fn with_options(records: Bytes, options: DecodeOptions) -> Self {
        Self {
            buf: records,
            options,
            failed: false,
        }
    }

    /// The options batches are decoded with (pass them to [`Batch::records`]).
    pub fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// The bytes not yet consumed: after the iteration ends cleanly, the size of the trailing
    /// partial batch (0 when the data ended on a batch boundary).
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Every record of every batch, control batches included, with the options of the set.
    /// A malformed batch or record yields one error, after which the iteration ends.
    pub fn records(self) -> SetRecords {
        SetRecords {
            set: self,
            current: None,
        }
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, DecodeError> {
        let Some(size) = self.buf.get(8..LOG_OVERHEAD) else {
            return Ok(None);
        };
        let mut size_bytes = [0; 4];
        size_bytes.copy_from_slice(size);
        let size = i32::from_be_bytes(size_bytes);
        // A size no format allows is corruption even when the batch is incomplete (Kafka's
        // consumer checks it first, too).
        let size = usize::try_from(size)
            .ok()
            .filter(|n| *n >= MIN_ENTRY_SIZE)
            .ok_or(DecodeError::InvalidLength {
                what: "record batch",
                length: i64::from(size),
            })?;
        if LOG_OVERHEAD + size > self.buf.len() {
            return Ok(None);
        }
        let batch = match self.buf.get(MAGIC_AT).map(|m| *m as i8) {
            Some(2) => Batch::V2(RecordBatch::decode(&mut self.buf, &self.options)?),
            Some(0 | 1) => Batch::Legacy(LegacyBatch::decode(&mut self.buf, &self.options)?),
            Some(magic) => return Err(DecodeError::UnsupportedMagic(magic)),
            None => return Ok(None),
        };
        Ok(Some(batch))
    }
}

impl Iterator for RecordSet {
    type Item = Result<Batch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = self.next_batch().transpose();
        if matches!(result, Some(Err(_))) {
            self.failed = true;
        }
        result
    }
}

/// The iterator of [`RecordSet::records`]: the records of each batch in turn.
///
/// A hand-written state machine rather than `flat_map`, so each record is moved once instead of
/// through several adapter layers (a measurable cost at millions of records per second).
#[derive(Debug, Clone)]
pub struct SetRecords {
    set: RecordSet,
    current: Option<BatchRecords>,
}

impl Iterator for SetRecords {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(records) = &mut self.current {
                match records.next() {
                    Some(Ok(record)) => return Some(Ok(record)),
                    Some(Err(e)) => {
                        self.set.failed = true;
                        self.current = None;
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
            }
            match self.set.next()? {
                Ok(batch) => match batch.records(&self.set.options) {
                    Ok(records) => self.current = Some(records),
                    Err(e) => {
                        self.set.failed = true;
                        return Some(Err(e));
                    }
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
