//! The application side of a completed fetch: its records handed out one at a time, in order,
//! from the position on. This is where checksums are verified and compressed batches
//! decompressed (once per batch), on the application's task rather than the fetcher's, and
//! where read_committed drops aborted transactions and control batches (Java's
//! `CompletedFetch` rules: an aborted transaction's producer is skipped from its first offset
//! until its ABORT marker).
//!
//! Handing out a record allocates nothing: it is a slice of the response frame (or of the one
//! decompressed buffer of its batch).

use std::collections::HashSet;

use krafka_protocol::DecodeError;
use krafka_protocol::messages::fetch_response::AbortedTransaction;
use krafka_protocol::records::{
    Batch, BatchRecords, ControlRecordKey, ControlRecordType, DecodeOptions, Record, RecordSet,
};

use crate::record::TopicPartition;
use crate::state::CompletedFetch;

/// A completed fetch being handed out.
pub(crate) struct Drain {
    pub partition: TopicPartition,
    pub epoch: u64,
    /// The next offset the application gets.
    pub position: i64,
    /// Bytes this fetch holds of the prefetch budget.
    pub bytes: usize,
    next_offset: i64,
    set: RecordSet,
    current: Option<BatchRecords>,
    read_committed: bool,
    /// Aborted transactions not yet reached, by ascending first offset.
    aborted: Vec<AbortedTransaction>,
    /// Producers whose records are being skipped until their ABORT marker.
    aborting: HashSet<i64>,
}

impl Drain {
    pub(crate) fn new(
        fetch: CompletedFetch,
        position: i64,
        options: &DecodeOptions,
        read_committed: bool,
    ) -> Self {
        let mut aborted = fetch.aborted;
        // Reversed, so the next one to reach is popped from the end.
        aborted.sort_by_key(|a| std::cmp::Reverse(a.first_offset));
        Self {
            partition: fetch.partition,
            epoch: fetch.epoch,
            position,
            bytes: fetch.records.len(),
            next_offset: fetch.next_offset,
            set: RecordSet::with_options(fetch.records, options.clone()),
            current: None,
            read_committed,
            aborted,
            aborting: HashSet::new(),
        }
    }

    /// The position once everything is handed out.
    pub(crate) fn final_position(&self) -> i64 {
        self.position.max(self.next_offset)
    }

    /// The next record at or after the position; `None` when the fetch is used up. After an
    /// error the drain yields nothing more.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record, DecodeError>> {
        loop {
            if let Some(records) = &mut self.current {
                match records.next() {
                    Some(Ok(record)) => {
                        if record.offset < self.position {
                            continue;
                        }
                        self.position = record.offset + 1;
                        return Some(Ok(record));
                    }
                    Some(Err(e)) => {
                        self.current = None;
                        self.set = RecordSet::new(bytes::Bytes::new());
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
            }
            let batch = match self.set.next()? {
                Ok(batch) => batch,
                Err(e) => return Some(Err(e)),
            };
            if batch.next_offset() <= self.position {
                continue;
            }
            if self.skip(&batch) {
                self.position = self.position.max(batch.next_offset());
                continue;
            }
            match batch.records(self.set.options()) {
                Ok(records) => self.current = Some(records),
                Err(e) => {
                    self.set = RecordSet::new(bytes::Bytes::new());
                    return Some(Err(e));
                }
            }
        }
    }

    /// Whether a whole batch is left out: control batches always; under read_committed, the
    /// batches of aborted transactions.
    fn skip(&mut self, batch: &Batch) -> bool {
        if self.read_committed {
            while self
                .aborted
                .last()
                .is_some_and(|a| a.first_offset <= batch.last_offset())
            {
                if let Some(a) = self.aborted.pop() {
                    self.aborting.insert(a.producer_id);
                }
            }
        }
        if batch.is_control() {
            if self.read_committed && self.is_abort_marker(batch) {
                self.aborting.remove(&batch.producer_id());
            }
            return true;
        }
        self.read_committed
            && batch.is_transactional()
            && self.aborting.contains(&batch.producer_id())
    }

    fn is_abort_marker(&self, batch: &Batch) -> bool {
        let Ok(mut records) = batch.records(self.set.options()) else {
            return false;
        };
        matches!(
            records.next(),
            Some(Ok(r)) if ControlRecordKey::of(&r)
                .is_ok_and(|k| k.record_type == ControlRecordType::Abort)
        )
    }
}
