//! A sealed batch on its way to a broker: its encoded bytes, the records' shared completion,
//! and the bookkeeping retries and idempotence need (sequence stamp, attempts, whether an
//! attempt may have written it).
//!
//! The bytes are encoded once, when the accumulator seals the batch. The producer id, epoch and
//! sequence are stamped into the header when the sender first drains the batch (the sequence is
//! only known then), and again only after an epoch bump. The stamped `Bytes` go into the
//! request by reference.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use krafka_protocol::StrBytes;
use krafka_protocol::records::{self, RecordBatch};

use crate::delivery::{BatchCompletion, Outcome};
use crate::error::{ProduceError, Written};

/// A topic partition, with the topic name ready for the wire.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TopicPartition {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    pub(crate) topic_wire: StrBytes,
}

impl TopicPartition {
    pub(crate) fn new(topic: Arc<str>, partition: i32) -> Arc<Self> {
        let topic_wire = StrBytes::from_string(topic.to_string());
        Arc::new(Self {
            topic,
            partition,
            topic_wire,
        })
    }
}

/// The producer id, epoch and first sequence a batch was stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) sequence: i32,
}

#[derive(Debug)]
enum BatchBytes {
    /// Sealed, not yet stamped.
    Sealed(BytesMut),
    /// Ready for the wire.
    Frozen(Bytes),
}

/// One sealed batch.
#[derive(Debug)]
pub(crate) struct ProducerBatch {
    pub(crate) tp: Arc<TopicPartition>,
    bytes: BatchBytes,
    pub(crate) record_count: i32,
    pub(crate) completion: Arc<BatchCompletion>,
    /// The position of this batch's first record in the batch `completion` was made for (not 0
    /// only for the second half of a split).
    pub(crate) first_delta: u32,
    pub(crate) created: Instant,
    /// Buffer memory to release when the batch is resolved.
    pub(crate) reserved: usize,
    pub(crate) stamp: Option<Stamp>,
    /// The order the sender first drained it in, per partition: retries go back in this order.
    pub(crate) drain_order: u64,
    /// The sender's arrival number (for flush).
    pub(crate) arrival: u64,
    pub(crate) attempts: u32,
    pub(crate) written: Written,
    pub(crate) retry_at: Option<Instant>,
    pub(crate) last_error: Option<Arc<str>>,
}

impl ProducerBatch {
    pub(crate) fn sealed(
        tp: Arc<TopicPartition>,
        bytes: BytesMut,
        record_count: i32,
        completion: Arc<BatchCompletion>,
        created: Instant,
        reserved: usize,
    ) -> Self {
        Self {
            tp,
            bytes: BatchBytes::Sealed(bytes),
            record_count,
            completion,
            first_delta: 0,
            created,
            reserved,
            stamp: None,
            drain_order: 0,
            arrival: 0,
            attempts: 0,
            written: Written::No,
            retry_at: None,
            last_error: None,
        }
    }

    /// The order retries are resent in: drain order, then position (split halves share
    /// their parent's drain order).
    pub(crate) fn order_key(&self) -> (u64, u32) {
        (self.drain_order, self.first_delta)
    }

    pub(crate) fn size(&self) -> usize {
        match &self.bytes {
            BatchBytes::Sealed(b) => b.len(),
            BatchBytes::Frozen(b) => b.len(),
        }
    }

    /// Stamps the producer state (idempotence) and freezes the bytes. Restamping a frozen
    /// batch (after an epoch bump) copies it only if a request still holds the old bytes.
    pub(crate) fn stamp(&mut self, stamp: Option<Stamp>) -> Result<(), ProduceError> {
        let mut bytes = match std::mem::replace(&mut self.bytes, BatchBytes::Frozen(Bytes::new())) {
            BatchBytes::Sealed(b) => b,
            BatchBytes::Frozen(b) if stamp.is_none() && self.stamp.is_none() => {
                self.bytes = BatchBytes::Frozen(b);
                return Ok(());
            }
            BatchBytes::Frozen(b) => b
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(shared.as_ref())),
        };
        let (pid, epoch, sequence) = match stamp {
            Some(s) => (s.producer_id, s.epoch, s.sequence),
            None => (
                records::NO_PRODUCER_ID,
                records::NO_PRODUCER_EPOCH,
                records::NO_SEQUENCE,
            ),
        };
        if stamp.is_some() || self.stamp.is_some() {
            records::set_producer_state(&mut bytes, pid, epoch, sequence)
                .map_err(|e| ProduceError::Encode(e.to_string().into()))?;
        }
        self.stamp = stamp;
        self.bytes = BatchBytes::Frozen(bytes.freeze());
        Ok(())
    }

    /// The bytes for a request (a reference, not a copy). Empty before [`stamp`](Self::stamp).
    pub(crate) fn wire_bytes(&self) -> Bytes {
        match &self.bytes {
            BatchBytes::Frozen(b) => b.clone(),
            BatchBytes::Sealed(_) => Bytes::new(),
        }
    }

    /// Resolves every record of the batch.
    pub(crate) fn resolve(&self, outcome: Outcome) {
        self.completion.resolve(self.first_delta, outcome);
    }

    /// Splits the batch in two halves by record count (after MESSAGE_TOO_LARGE), re-encoding
    /// the records. The halves keep the parent's sequence range between them, so an
    /// idempotent producer's later batches stay valid. `None` if it holds a single record.
    pub(crate) fn split(
        self,
        codecs: &krafka_protocol::compression::Codecs,
        compression: krafka_protocol::compression::Compression,
    ) -> Result<Option<(ProducerBatch, ProducerBatch)>, ProduceError> {
        if self.record_count < 2 {
            return Ok(None);
        }
        let encode_err = |e: &dyn std::fmt::Display| ProduceError::Encode(e.to_string().into());
        let mut raw = match &self.bytes {
            BatchBytes::Frozen(b) => b.clone(),
            BatchBytes::Sealed(b) => Bytes::copy_from_slice(b),
        };
        let options = records::DecodeOptions::default();
        let batch = RecordBatch::decode(&mut raw, &options).map_err(|e| encode_err(&e))?;
        let mut views = batch.records(&options).map_err(|e| encode_err(&e))?;
        let half = self.record_count / 2;
        let batch_options = || records::BatchOptions {
            compression,
            initial_capacity: self.size(),
            ..Default::default()
        };
        let mut builders = [
            records::RecordBatchBuilder::new(batch_options()),
            records::RecordBatchBuilder::new(batch_options()),
        ];
        let mut index = 0;
        while let Some(view) = views.next_view() {
            let view = view.map_err(|e| encode_err(&e))?;
            let headers: Vec<(&str, Option<&[u8]>)> = view
                .headers
                .iter()
                .map(|(k, v)| (std::str::from_utf8(k).unwrap_or(""), v))
                .collect();
            let builder = &mut builders[usize::from(index >= half)];
            builder
                .append(view.timestamp, view.key, view.value, &headers)
                .map_err(|e| encode_err(&e))?;
            index += 1;
        }
        let [first, second] = builders;
        let (first_count, second_count) = (first.record_count(), second.record_count());
        if first_count + second_count != self.record_count {
            return Err(ProduceError::Encode("a split batch lost records".into()));
        }
        let first = first.finish_mut(codecs).map_err(|e| encode_err(&e))?;
        let second = second.finish_mut(codecs).map_err(|e| encode_err(&e))?;
        let at = self.first_delta + first_count as u32;
        let child = |bytes, count, first_delta, reserved, stamp: Option<Stamp>| ProducerBatch {
            tp: self.tp.clone(),
            bytes: BatchBytes::Sealed(bytes),
            record_count: count,
            completion: self.completion.clone(),
            first_delta,
            created: self.created,
            reserved,
            stamp,
            drain_order: self.drain_order,
            arrival: self.arrival,
            attempts: self.attempts,
            written: self.written,
            retry_at: self.retry_at,
            last_error: self.last_error.clone(),
        };
        let second_stamp = self.stamp.map(|s| Stamp {
            sequence: add_sequence(s.sequence, first_count),
            ..s
        });
        let mut a = child(
            first,
            first_count,
            self.first_delta,
            self.reserved,
            self.stamp,
        );
        let mut b = child(second, second_count, at, 0, second_stamp);
        // Freeze with the parent's producer state, so that the halves carry its sequences.
        let (sa, sb) = (a.stamp.take(), b.stamp.take());
        a.stamp(sa)?;
        b.stamp(sb)?;
        // Only now that both halves exist: a failure above leaves the completion whole, so
        // the caller can fail every record at once.
        self.completion.split(self.first_delta, at);
        Ok(Some((a, b)))
    }
}
/// Adds `count` to a sequence the way Kafka does: sequences wrap from `i32::MAX` to 0.
pub(crate) fn add_sequence(sequence: i32, count: i32) -> i32 {
    if sequence > i32::MAX - count {
        count - (i32::MAX - sequence) - 1
    } else {
        sequence + count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafkas() {
        assert_eq!(add_sequence(0, 5), 5);
        assert_eq!(add_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(add_sequence(i32::MAX, 1), 0);
        assert_eq!(add_sequence(i32::MAX - 2, 5), 2);
    }
}
