//! Idempotent producer state, the broker side: producer id allocation (InitProducerId, with
//! KIP-360 epoch bumps and transactional ids) and each partition's sequence checks.
//!
//! The sequence rules are current Kafka's (`ProducerStateManager`):
//! - a batch from an epoch older than the partition has seen is refused (INVALID_PRODUCER_EPOCH);
//! - the first batch of a newer epoch must start at sequence 0 (else OUT_OF_ORDER_SEQUENCE_NUMBER);
//! - within an epoch, a batch must start right after the last one (sequences wrap at
//!   `i32::MAX`), except that a retry of one of the last five batches is acknowledged again with
//!   its original offset and not appended twice;
//! - a batch wholly below the last sequence that is not among those five is refused with
//!   DUPLICATE_SEQUENCE_NUMBER (it was written, but its offset is no longer known);
//! - a producer the partition has never seen may start at any sequence (its state may have been
//!   lost to retention, as Kafka allows since KIP-360).

use std::collections::{HashMap, VecDeque};

use krafka_protocol::ErrorCode;
use parking_lot::Mutex;

/// How many recent batches per producer are remembered for duplicate detection (Kafka's
/// `NUM_BATCHES_TO_RETAIN`; also why producers keep at most five requests in flight).
const RETAINED_BATCHES: usize = 5;

/// One remembered batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMeta {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

/// One producer's state in one partition.
#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// What the sequence check decided for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// A retry of a batch already appended at this base offset: acknowledge, do not append.
    Duplicate(i64),
}

/// The producers seen by one partition.
#[derive(Debug, Default)]
pub struct PartitionProducers {
    entries: HashMap<i64, ProducerEntry>,
}

fn next_sequence(last: i32) -> i32 {
    if last == i32::MAX { 0 } else { last + 1 }
}

impl PartitionProducers {
    /// Checks a batch of `count` records from `producer_id`/`epoch` starting at `first_sequence`.
    pub fn check(
        &self,
        producer_id: i64,
        epoch: i16,
        first_sequence: i32,
        count: i32,
    ) -> Result<SequenceCheck, ErrorCode> {
        let Some(entry) = self.entries.get(&producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        if epoch < entry.epoch {
            return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if epoch > entry.epoch {
            return if first_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let last_sequence = first_sequence.wrapping_add(count - 1);
        if let Some(previous) = entry
            .batches
            .iter()
            .find(|b| b.first_sequence == first_sequence && b.last_sequence == last_sequence)
        {
            return Ok(SequenceCheck::Duplicate(previous.base_offset));
        }
        let Some(last) = entry.batches.back() else {
            return Ok(SequenceCheck::Append);
        };
        if first_sequence == next_sequence(last.last_sequence) {
            Ok(SequenceCheck::Append)
        } else if first_sequence <= last.last_sequence && last_sequence <= last.last_sequence {
            Err(ErrorCode::DUPLICATE_SEQUENCE_NUMBER)
        } else {
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Records an appended batch.
    pub fn record(
        &mut self,
        producer_id: i64,
        epoch: i16,
        first_sequence: i32,
        count: i32,
        base_offset: i64,
    ) {
        let entry = self.entries.entry(producer_id).or_default();
        if epoch != entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_sequence,
            last_sequence: first_sequence.wrapping_add(count - 1),
            base_offset,
        });
        while entry.batches.len() > RETAINED_BATCHES {
            entry.batches.pop_front();
        }
    }
}

/// Producer ids and epochs handed out by the cluster.
#[derive(Debug, Default)]
pub struct ProducerIds {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: i64,
    /// The current epoch of every producer id handed out.
    epochs: HashMap<i64, i16>,
    /// Transactional ids and the producer id they own.
    transactional: HashMap<String, i64>,
}

impl ProducerIds {
    /// InitProducerId: a new id (epoch 0); the next epoch of `current` when the caller proves it
    /// holds it (KIP-360); for a transactional id, the same id with its epoch bumped, fencing
    /// older instances.
    pub fn init(
        &self,
        transactional_id: Option<&str>,
        current: Option<(i64, i16)>,
    ) -> Result<(i64, i16), ErrorCode> {
        let mut registry = self.inner.lock();
        let known = match (transactional_id, current) {
            (Some(txn), _) => registry.transactional.get(txn).copied(),
            (None, Some((id, _))) => Some(id),
            (None, None) => None,
        };
        if let Some(id) = known {
            let epoch = registry.epochs.get(&id).copied();
            match (epoch, current) {
                (Some(epoch), Some((_, claimed))) if claimed != epoch => {
                    return Err(ErrorCode::INVALID_PRODUCER_EPOCH);
                }
                (Some(epoch), _) if epoch < i16::MAX - 1 => {
                    registry.epochs.insert(id, epoch + 1);
                    return Ok((id, epoch + 1));
                }
                (None, Some(_)) => return Err(ErrorCode::INVALID_PRODUCER_EPOCH),
                // Epoch exhausted (or unknown transactional owner): a fresh id below.
                _ => {}
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.epochs.insert(id, 0);
        if let Some(txn) = transactional_id {
            registry.transactional.insert(txn.to_string(), id);
        }
        Ok((id, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_rules() {
        let mut p = PartitionProducers::default();
        assert_eq!(p.check(7, 0, 0, 3), Ok(SequenceCheck::Append));
        p.record(7, 0, 0, 3, 100);
        assert_eq!(p.check(7, 0, 3, 2), Ok(SequenceCheck::Append));
        p.record(7, 0, 3, 2, 103);
        assert_eq!(p.check(7, 0, 3, 2), Ok(SequenceCheck::Duplicate(103)));
        assert_eq!(p.check(7, 0, 0, 3), Ok(SequenceCheck::Duplicate(100)));
        assert_eq!(
            p.check(7, 0, 9, 1),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            p.check(7, 0, 1, 1),
            Err(ErrorCode::DUPLICATE_SEQUENCE_NUMBER)
        );
        // A newer epoch starts at 0; an older one is fenced.
        assert_eq!(
            p.check(7, 1, 4, 1),
            Err(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(p.check(7, 1, 0, 1), Ok(SequenceCheck::Append));
        p.record(7, 1, 0, 1, 105);
        assert_eq!(p.check(7, 0, 5, 1), Err(ErrorCode::INVALID_PRODUCER_EPOCH));
        // An unknown producer may start anywhere.
        assert_eq!(p.check(8, 0, 42, 1), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered_and_sequences_wrap() {
        let mut p = PartitionProducers::default();
        for i in 0..6 {
            p.record(1, 0, i, 1, i64::from(i));
        }
        assert_eq!(
            p.check(1, 0, 0, 1),
            Err(ErrorCode::DUPLICATE_SEQUENCE_NUMBER)
        );
        assert_eq!(p.check(1, 0, 1, 1), Ok(SequenceCheck::Duplicate(1)));
        let mut q = PartitionProducers::default();
        q.record(2, 0, i32::MAX, 1, 0);
        assert_eq!(q.check(2, 0, 0, 1), Ok(SequenceCheck::Append));
    }

    #[test]
    fn producer_ids_and_epoch_bumps() {
        let ids = ProducerIds::default();
        let (a, e) = ids.init(None, None).unwrap();
        let (b, _) = ids.init(None, None).unwrap();
        assert_ne!(a, b);
        assert_eq!(e, 0);
        assert_eq!(ids.init(None, Some((a, 0))), Ok((a, 1)));
        assert_eq!(
            ids.init(None, Some((a, 0))),
            Err(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        let (t, te) = ids.init(Some("txn"), None).unwrap();
        assert_eq!(
            ids.init(Some("txn"), None),
            Ok((t, te + 1)),
            "re-init fences the old one"
        );
    }
}
