//! Handing records to the application: `recv`, `poll`, `try_poll`, and the drain of one
//! completed fetch at a time (whose position lives here, not behind the shared lock, so a
//! record costs no lock).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::handle::Consumer;
use crate::config::IsolationLevel;
use crate::drain::Drain;
use crate::error::ConsumeError;
use crate::record::{ConsumerRecord, TopicPartition};
use crate::state::Shared;

impl Consumer {
    /// The next record, waiting until one arrives.
    ///
    /// Cancel-safe: a record is taken only after the wait has finished, so dropping the
    /// future loses nothing; the next call returns the same record.
    pub async fn recv(&mut self) -> Result<ConsumerRecord, ConsumeError> {
        loop {
            self.on_poll();
            if let Some(record) = self.take_one()? {
                self.shared.metrics.records_returned(1);
                return Ok(record);
            }
            wait(&self.shared).await?;
        }
    }

    /// Up to `max` records, waiting until at least one arrives.
    ///
    /// Cancel-safe, like [`recv`](Self::recv).
    pub async fn poll(&mut self, max: usize) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        let mut out = Vec::new();
        loop {
            self.on_poll();
            self.take_into(&mut out, max.max(1))?;
            if !out.is_empty() {
                self.shared.metrics.records_returned(out.len() as u64);
                return Ok(out);
            }
            wait(&self.shared).await?;
        }
    }

    /// Like [`poll`](Self::poll), for the helpers that hand records on to other workers: while
    /// a revocation is pending that `may_revoke` refuses (records of its partitions are still
    /// being worked on), it returns `Ok(None)` instead of running it, so the caller can wait
    /// for that work and the revocation commits it.
    pub(super) async fn poll_holding_revocations(
        &mut self,
        max: usize,
        may_revoke: impl Fn(&[TopicPartition]) -> bool,
    ) -> Result<Option<Vec<ConsumerRecord>>, ConsumeError> {
        let mut out = Vec::new();
        loop {
            if let Some(revoked) = self.revocation_pending()
                && !may_revoke(&revoked)
            {
                return Ok(None);
            }
            self.on_poll();
            self.take_into(&mut out, max.max(1))?;
            if !out.is_empty() {
                self.shared.metrics.records_returned(out.len() as u64);
                return Ok(Some(out));
            }
            wait(&self.shared).await?;
        }
    }

    /// Up to `max_poll_records` records (Java's `poll`), waiting until at least one arrives.
    /// Cancel-safe.
    pub async fn poll_default(&mut self) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        self.poll(self.config.max_poll_records).await
    }

    /// Up to `max` records already fetched, without waiting (possibly none).
    pub fn try_poll(&mut self, max: usize) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        self.on_poll();
        let mut out = Vec::new();
        self.take_into(&mut out, max)?;
        self.shared.metrics.records_returned(out.len() as u64);
        Ok(out)
    }

    pub(super) fn take_one(&mut self) -> Result<Option<ConsumerRecord>, ConsumeError> {
        loop {
            let Some(drain) = &mut self.drain else {
                if !self.next_drain()? {
                    return Ok(None);
                }
                continue;
            };
            match drain.next_record() {
                Some(Ok(record)) => {
                    let p = &drain.partition;
                    return Ok(Some(ConsumerRecord::new(
                        Arc::clone(&p.topic),
                        p.partition,
                        record,
                    )));
                }
                Some(Err(error)) => return Err(self.corrupt(error)),
                None => self.finish_drain(),
            }
        }
    }

    pub(super) fn take_into(
        &mut self,
        out: &mut Vec<ConsumerRecord>,
        max: usize,
    ) -> Result<(), ConsumeError> {
        while out.len() < max {
            let Some(drain) = &mut self.drain else {
                if !self.next_drain()? {
                    return Ok(());
                }
                continue;
            };
            let topic = Arc::clone(&drain.partition.topic);
            let partition = drain.partition.partition;
            while out.len() < max {
                match drain.next_record() {
                    Some(Ok(record)) => {
                        out.push(ConsumerRecord::new(Arc::clone(&topic), partition, record));
                    }
                    Some(Err(error)) => {
                        if out.is_empty() {
                            return Err(self.corrupt(error));
                        }
                        // Return what came before; the error comes with the next call, since
                        // the position stays before the bad batch.
                        let _ = self.corrupt(error);
                        return Ok(());
                    }
                    None => {
                        self.finish_drain();
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes the next completed fetch (or queued error) from the fetcher; `false` when there
    /// is none.
    pub(super) fn next_drain(&mut self) -> Result<bool, ConsumeError> {
        let mut state = self.shared.state.lock();
        if let Some(error) = state.errors.pop_front() {
            return Err(error);
        }
        while let Some(fetch) = state.ready.pop_front() {
            let position = state
                .partitions
                .get(&fetch.partition)
                .filter(|p| p.epoch == fetch.epoch && !p.paused && !p.revoking)
                .and_then(|p| p.position);
            let Some(position) = position else {
                // Seeked, paused or unassigned since it was fetched.
                let (partition, bytes) = (fetch.partition.clone(), fetch.records.len());
                state.release(&partition, bytes);
                self.shared.wake_fetcher.notify_one();
                continue;
            };
            let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
            self.drain = Some(Drain::new(fetch, position, &self.decode, read_committed));
            return Ok(true);
        }
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(ConsumeError::Closed);
        }
        Ok(false)
    }

    /// Publishes the finished drain's position and returns its bytes to the budget.
    pub(super) fn finish_drain(&mut self) {
        self.release_drain(true);
    }

    /// Drops the current drain if `which` picks its partition, keeping the position it
    /// reached.
    pub(super) fn drop_drain_of(&mut self, which: impl Fn(&TopicPartition) -> bool) {
        if self.drain.as_ref().is_some_and(|d| which(&d.partition)) {
            self.drop_drain();
        }
    }

    /// Drops the current drain, keeping the position it reached.
    pub(super) fn drop_drain(&mut self) {
        self.release_drain(false);
    }

    pub(super) fn release_drain(&mut self, finished: bool) {
        let Some(drain) = self.drain.take() else {
            return;
        };
        let mut state = self.shared.state.lock();
        state.release(&drain.partition, drain.bytes);
        if let Some(p) = state.partitions.get_mut(&drain.partition)
            && p.epoch == drain.epoch
        {
            p.position = Some(if finished {
                drain.final_position()
            } else {
                drain.position
            });
        }
        drop(state);
        self.shared.wake_fetcher.notify_one();
    }

    /// A bad batch: the position stays before it and the partition is fetched again from
    /// there (as in Java, the error repeats until the application seeks past it).
    pub(super) fn corrupt(&mut self, error: krafka_protocol::DecodeError) -> ConsumeError {
        let Some(drain) = self.drain.take() else {
            return ConsumeError::Closed;
        };
        let mut state = self.shared.state.lock();
        state.release(&drain.partition, drain.bytes);
        state.discard_ready(&drain.partition);
        if let Some(p) = state.partitions.get_mut(&drain.partition)
            && p.epoch == drain.epoch
        {
            p.epoch += 1;
            p.position = Some(drain.position);
            p.fetch_offset = Some(drain.position);
            p.retry_at = Some(std::time::Instant::now() + self.config.retry_backoff);
        }
        drop(state);
        self.shared.wake_fetcher.notify_one();
        ConsumeError::Corrupt {
            partition: drain.partition,
            offset: drain.position,
            error,
        }
    }
}

/// Waits for a completed fetch, an error or a group event (or the group task checking that a
/// waiting application is still there). Takes only the shared state, so a consumer (which is
/// `Send` but not `Sync`) can be received from in a spawned task.
pub(super) async fn wait(shared: &Shared) -> Result<(), ConsumeError> {
    if shared.closed.load(Ordering::Acquire) {
        return Err(ConsumeError::Closed);
    }
    shared.data_ready.notified().await;
    Ok(())
}
