//! One partition's log: record batches as the producer sent them, with offsets stamped in.
//!
//! Batches are never decoded record by record. On append the batch is validated (CRC, magic)
//! and copied once into its own buffer so the broker can stamp the base offset and leader epoch
//! (fields the CRC does not cover); fetches then hand out slices of the stored buffers, with no
//! further copy.

use bytes::{Bytes, BytesMut};
use krafka_protocol::ErrorCode;
use krafka_protocol::records::{self, DecodeOptions, RecordBatch};

use crate::producers::{PartitionProducers, SequenceCheck};

/// A batch in the log.
#[derive(Debug, Clone)]
struct StoredBatch {
    base_offset: i64,
    /// One past the batch's last offset.
    next_offset: i64,
    max_timestamp: i64,
    bytes: Bytes,
}

/// A partition's log. Offsets start at 0; the high watermark is the log end (one replica).
#[derive(Debug, Default)]
pub struct PartitionLog {
    batches: Vec<StoredBatch>,
    log_start_offset: i64,
    next_offset: i64,
    producers: PartitionProducers,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The offset of the first record appended.
    pub base_offset: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// Fault injection: flips the byte at `at` within the stored batch that holds `offset`, as
    /// a bad disk or a broken network path would, so clients see data that fails its checksum.
    /// Returns whether there was such a batch and byte.
    pub fn corrupt(&mut self, offset: i64, at: usize) -> bool {
        let Some(batch) = self
            .batches
            .iter_mut()
            .find(|b| b.base_offset <= offset && offset < b.next_offset)
        else {
            return false;
        };
        let mut bytes = batch.bytes.to_vec();
        let Some(byte) = bytes.get_mut(at) else {
            return false;
        };
        *byte ^= 0xff;
        batch.bytes = Bytes::from(bytes);
        true
    }

    /// The offset the next record will get (the log end offset, and the high watermark).
    pub fn high_watermark(&self) -> i64 {
        self.next_offset
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Validates and appends the record batches of a Produce request's `records` field,
    /// applying the idempotent producers' sequence rules ([`crate::producers`]). All or
    /// nothing: one refused batch refuses the whole field. A retried batch is acknowledged with
    /// its original offset and not stored again.
    pub fn append(&mut self, records: &Bytes, leader_epoch: i32) -> Result<Appended, ErrorCode> {
        let options = DecodeOptions::default();
        let mut input = records.clone();
        let mut staged = Vec::new();
        // Producer bookkeeping for the staged batches: (id, epoch, first sequence, count, offset).
        let mut pending: Vec<(i64, i16, i32, i32, i64)> = Vec::new();
        let mut next = self.next_offset;
        let mut first_offset = None;
        if input.is_empty() {
            return Err(ErrorCode::INVALID_RECORD);
        }
        while !input.is_empty() {
            let batch = RecordBatch::decode(&mut input, &options)
                .map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            let count = batch.last_offset_delta().checked_add(1).unwrap_or(0);
            if batch.record_count() <= 0 || count <= 0 {
                return Err(ErrorCode::INVALID_RECORD);
            }
            let producer_id = batch.producer_id();
            if producer_id >= 0 {
                let (epoch, sequence) = (batch.producer_epoch(), batch.base_sequence());
                // A batch behind another of the same producer in this request follows it.
                let check = match pending.iter().rev().find(|p| p.0 == producer_id) {
                    Some(&(_, e, seq, n, _)) if e == epoch => {
                        if sequence == seq.wrapping_add(n) {
                            Ok(SequenceCheck::Append)
                        } else {
                            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
                        }
                    }
                    Some(_) => Err(ErrorCode::INVALID_PRODUCER_EPOCH),
                    None => self.producers.check(producer_id, epoch, sequence, count),
                }?;
                if let SequenceCheck::Duplicate(offset) = check {
                    first_offset.get_or_insert(offset);
                    continue;
                }
                pending.push((producer_id, epoch, sequence, count, next));
            }
            let mut stored = BytesMut::from(batch.as_bytes().as_ref());
            records::set_base_offset(&mut stored, next).map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            records::set_partition_leader_epoch(&mut stored, leader_epoch)
                .map_err(|_| ErrorCode::CORRUPT_MESSAGE)?;
            first_offset.get_or_insert(next);
            staged.push(StoredBatch {
                base_offset: next,
                next_offset: next + i64::from(count),
                max_timestamp: batch.max_timestamp(),
                bytes: stored.freeze(),
            });
            next += i64::from(count);
        }
        for (id, epoch, sequence, count, offset) in pending {
            self.producers.record(id, epoch, sequence, count, offset);
        }
        self.batches.extend(staged);
        self.next_offset = next;
        Ok(Appended {
            base_offset: first_offset.unwrap_or(self.next_offset),
            log_start_offset: self.log_start_offset,
        })
    }

    /// Whole batches from the one containing `offset`, up to about `max_bytes` (at least one
    /// batch, as Kafka returns one even when it is larger than the limit), as one buffer of
    /// concatenated slices. `Err` when `offset` is outside the log.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Vec<Bytes>, ErrorCode> {
        if offset < self.log_start_offset || offset > self.next_offset {
            return Err(ErrorCode::OFFSET_OUT_OF_RANGE);
        }
        let first = self.batches.partition_point(|b| b.next_offset <= offset);
        let mut out = Vec::new();
        let mut size = 0;
        for batch in self.batches.iter().skip(first) {
            if !out.is_empty() && size + batch.bytes.len() > max_bytes {
                break;
            }
            size += batch.bytes.len();
            out.push(batch.bytes.clone());
        }
        Ok(out)
    }

    /// The (timestamp, offset) a ListOffsets timestamp asks for, as Kafka answers it: -2 the
    /// log start, -1 the log end, -3 (KIP-734) the first record with the largest timestamp, -4
    /// (KIP-405, earliest local) the log start, as on a broker without tiered storage, -5
    /// (KIP-1005, latest tiered) none (-1, -1) for the same reason; otherwise the first record
    /// whose timestamp reaches `timestamp`, per record (with its batch's timestamp type), or
    /// (-1, -1) when none does. Only the one batch that holds the answer is decoded.
    pub fn offset_for(&self, timestamp: i64) -> (i64, i64) {
        match timestamp {
            -2 | -4 => (-1, self.log_start_offset),
            -1 => (-1, self.next_offset),
            -5 => (-1, -1),
            -3 => {
                let Some(batch) = self.batches.iter().reduce(|best, b| {
                    if b.max_timestamp > best.max_timestamp {
                        b
                    } else {
                        best
                    }
                }) else {
                    return (-1, -1);
                };
                let found = first_record(batch, |ts| ts >= batch.max_timestamp);
                found.unwrap_or((batch.max_timestamp, batch.next_offset - 1))
            }
            ts if ts < 0 => (-1, -1),
            ts => {
                let Some(batch) = self.batches.iter().find(|b| b.max_timestamp >= ts) else {
                    return (-1, -1);
                };
                first_record(batch, |record_ts| record_ts >= ts)
                    .unwrap_or((batch.max_timestamp, batch.base_offset))
            }
        }
    }
}

/// The (timestamp, offset) of the first record in `batch` whose timestamp `reaches`; `None`
/// when the batch cannot be read record by record (it was validated on append, so only a
/// batch a fault corrupted since).
fn first_record(batch: &StoredBatch, reaches: impl Fn(i64) -> bool) -> Option<(i64, i64)> {
    let options = DecodeOptions::default();
    let decoded = RecordBatch::decode(&mut batch.bytes.clone(), &options).ok()?;
    let records = decoded.records(&options).ok()?;
    records
        .filter_map(Result::ok)
        .find(|r| reaches(r.timestamp))
        .map(|r| (r.timestamp, r.offset))
}

#[cfg(test)]
mod tests {
    use krafka_protocol::compression::{Codecs, Compression};
    use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};

    use super::*;

    fn batch(compression: Compression, timestamps: &[i64]) -> Bytes {
        let mut builder = RecordBatchBuilder::new(BatchOptions {
            compression,
            ..Default::default()
        });
        for &ts in timestamps {
            assert!(builder.append(ts, None, Some(b"v"), &[]).is_ok());
        }
        builder.finish(&Codecs::default()).unwrap_or_default()
    }

    #[test]
    fn timestamps_are_looked_up_per_record_in_every_codec() {
        for compression in [Compression::None, Compression::Gzip, Compression::Lz4] {
            let mut log = PartitionLog::default();
            // Offsets 0-2 with timestamps 100, 300, 200; offsets 3-4 with 250, 400.
            assert!(log.append(&batch(compression, &[100, 300, 200]), 0).is_ok());
            assert!(log.append(&batch(compression, &[250, 400]), 0).is_ok());
            let cases = [
                (50, (100, 0)),
                (100, (100, 0)),
                (150, (300, 1)),
                // The first record in offset order that reaches it, not the closest timestamp.
                (250, (300, 1)),
                (350, (400, 4)),
                (401, (-1, -1)),
                (-1, (-1, 5)),
                (-2, (-1, 0)),
                (-3, (400, 4)),
                (-4, (-1, 0)),
                (-5, (-1, -1)),
            ];
            for (asked, want) in cases {
                assert_eq!(
                    log.offset_for(asked),
                    want,
                    "{compression:?}, timestamp {asked}"
                );
            }
        }
    }

    #[test]
    fn the_largest_timestamp_is_the_first_record_that_has_it() {
        let mut log = PartitionLog::default();
        assert!(
            log.append(&batch(Compression::None, &[10, 500, 20]), 0)
                .is_ok()
        );
        assert!(log.append(&batch(Compression::None, &[500, 30]), 0).is_ok());
        assert_eq!(log.offset_for(-3), (500, 1));
        assert_eq!(PartitionLog::default().offset_for(-3), (-1, -1));
    }
}
