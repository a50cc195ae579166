//! [`Consumer`]: assignment, positions, seeking and pausing; the rest of its methods live by
//! responsibility in [`builder`] (settings and start), `receive` (handing records out),
//! `stream` (the same as a `futures::Stream`) and `group` (subscriptions, commits, rebalance
//! events).
//!
//! A consumer is driven by one task (`&mut self` to receive, as Java's consumer is used from
//! one thread); the fetcher, and with a `group_id` the group task, run beside it on the
//! runtime.

mod blocking;
pub mod builder;
mod group;
mod handle;
mod partitioned;
mod receive;
mod stream;

pub use blocking::BlockingReceiver;
pub use builder::ConsumerBuilder;
pub use group::CommitHandle;
pub use handle::Consumer;
pub use partitioned::{PARTITION_QUEUE, ProcessError};
pub use stream::RecordStream;

use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;

use krafka_net::ClusterMetadata;

use crate::config::{ConsumerConfig, IsolationLevel, OffsetReset};
use crate::error::ConsumeError;
use crate::metrics::{ConsumerMetrics, MetricsSnapshot};
use crate::record::TopicPartition;
use crate::state::{OffsetSpec, PartitionState};

fn seed(partition: &TopicPartition) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    partition.hash(&mut h);
    h.finish()
}

impl Consumer {
    /// The settings this consumer runs with.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The metadata cache (and through it the connection pool) this consumer uses.
    pub fn metadata(&self) -> &ClusterMetadata {
        &self.metadata
    }

    /// The live counters.
    pub fn live_metrics(&self) -> &ConsumerMetrics {
        &self.shared.metrics
    }

    /// A copy of the counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// Replaces the assignment with `partitions` (Java's `assign`). Partitions kept keep their
    /// positions; new ones start where `auto_offset_reset` says (or report
    /// [`ConsumeError::NoPosition`] when it is `None`, until a seek). With a `group_id`,
    /// commits go to the group as a simple consumer (no membership). Refused while subscribed.
    pub fn assign(
        &mut self,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> Result<(), ConsumeError> {
        if self.group.as_ref().is_some_and(|g| g.subscribed) {
            return Err(ConsumeError::SubscriptionConflict);
        }
        let wanted: std::collections::HashSet<TopicPartition> = partitions.into_iter().collect();
        self.metadata.add_topics(
            wanted
                .iter()
                .map(|p| p.topic.to_string())
                .collect::<Vec<_>>(),
        );
        self.drop_drain_of(|tp| !wanted.contains(tp));
        let reset = match self.config.auto_offset_reset {
            OffsetReset::Earliest => Some(OffsetSpec::Earliest),
            OffsetReset::Latest => Some(OffsetSpec::Latest),
            OffsetReset::None => None,
        };
        let mut state = self.shared.state.lock();
        let gone: Vec<TopicPartition> = state
            .partitions
            .keys()
            .filter(|p| !wanted.contains(*p))
            .cloned()
            .collect();
        for p in &gone {
            state.discard_ready(p);
            state.partitions.remove(p);
        }
        for p in wanted {
            if !state.partitions.contains_key(&p) {
                if reset.is_none() {
                    state.errors.push_back(ConsumeError::NoPosition(p.clone()));
                }
                let epoch = state.next_epoch();
                let fresh = PartitionState::new(reset, epoch, seed(&p));
                state.partitions.insert(p, fresh);
            }
        }
        drop(state);
        self.shared.wake_fetcher.notify_one();
        Ok(())
    }

    /// The assigned partitions, sorted.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        let mut all: Vec<_> = self
            .shared
            .state
            .lock()
            .partitions
            .keys()
            .cloned()
            .collect();
        all.sort();
        all
    }

    /// The next offset the application will get from `partition`, or `None` while it has
    /// none (its starting offset is still being looked up).
    pub fn position(&self, partition: &TopicPartition) -> Result<Option<i64>, ConsumeError> {
        if let Some(d) = self.drain.as_ref().filter(|d| d.partition == *partition) {
            return Ok(Some(d.position));
        }
        let state = self.shared.state.lock();
        let p = state
            .partitions
            .get(partition)
            .ok_or_else(|| ConsumeError::NotAssigned(partition.clone()))?;
        Ok(p.position)
    }

    /// The high watermark of `partition` from the last fetch, if one has been answered.
    pub fn high_watermark(&self, partition: &TopicPartition) -> Option<i64> {
        let state = self.shared.state.lock();
        let hw = state.partitions.get(partition)?.high_watermark;
        (hw >= 0).then_some(hw)
    }

    /// How many records of `partition` the application has not received yet: the last
    /// fetched high watermark (last stable offset under read_committed) minus the position.
    pub fn lag(&self, partition: &TopicPartition) -> Option<i64> {
        let position = self.position(partition).ok()??;
        let state = self.shared.state.lock();
        let p = state.partitions.get(partition)?;
        let end = match self.config.isolation_level {
            IsolationLevel::ReadUncommitted => p.high_watermark,
            IsolationLevel::ReadCommitted => p.last_stable_offset,
        };
        (end >= 0).then(|| (end - position).max(0))
    }

    /// Moves `partition`'s position to `offset`: the next record received from it is the one
    /// at `offset` (or the first after it). Data already fetched from elsewhere is dropped.
    pub fn seek(&mut self, partition: &TopicPartition, offset: i64) -> Result<(), ConsumeError> {
        self.reposition(partition, |p| {
            p.reset = None;
            p.fetch_offset = Some(offset);
            p.position = Some(offset);
        })
    }

    /// Starts `partition` again from the beginning of its log.
    pub fn seek_to_beginning(&mut self, partition: &TopicPartition) -> Result<(), ConsumeError> {
        self.reposition(partition, |p| p.reset = Some(OffsetSpec::Earliest))
    }

    /// Moves `partition` to the end of its log: only records produced after the lookup.
    pub fn seek_to_end(&mut self, partition: &TopicPartition) -> Result<(), ConsumeError> {
        self.reposition(partition, |p| p.reset = Some(OffsetSpec::Latest))
    }

    fn reposition(
        &mut self,
        partition: &TopicPartition,
        change: impl FnOnce(&mut PartitionState),
    ) -> Result<(), ConsumeError> {
        self.drop_drain_of(|tp| tp == partition);
        let mut state = self.shared.state.lock();
        state.discard_ready(partition);
        let p = state
            .partitions
            .get_mut(partition)
            .ok_or_else(|| ConsumeError::NotAssigned(partition.clone()))?;
        p.epoch += 1;
        p.fetch_offset = None;
        p.position = None;
        p.retry_at = None;
        p.offset_backoff.reset();
        change(p);
        drop(state);
        self.shared.wake_fetcher.notify_one();
        Ok(())
    }

    /// Stops fetching `partition` until [`resume`](Self::resume); records already fetched
    /// from it are dropped and fetched again after the resume, so nothing is skipped.
    pub fn pause(&mut self, partition: &TopicPartition) -> Result<(), ConsumeError> {
        let position = self.position(partition)?;
        self.drop_drain_of(|tp| tp == partition);
        let mut state = self.shared.state.lock();
        state.discard_ready(partition);
        if let Some(p) = state.partitions.get_mut(partition) {
            p.paused = true;
            if p.reset.is_none() {
                p.epoch += 1;
                p.fetch_offset = position;
                p.position = position;
            }
        }
        Ok(())
    }

    /// Fetches `partition` again after [`pause`](Self::pause).
    pub fn resume(&mut self, partition: &TopicPartition) -> Result<(), ConsumeError> {
        let mut state = self.shared.state.lock();
        let p = state
            .partitions
            .get_mut(partition)
            .ok_or_else(|| ConsumeError::NotAssigned(partition.clone()))?;
        p.paused = false;
        drop(state);
        self.shared.wake_fetcher.notify_one();
        Ok(())
    }

    /// The paused partitions, sorted.
    pub fn paused(&self) -> Vec<TopicPartition> {
        let state = self.shared.state.lock();
        let mut paused: Vec<_> = state
            .partitions
            .iter()
            .filter(|(_, p)| p.paused)
            .map(|(tp, _)| tp.clone())
            .collect();
        paused.sort();
        paused
    }

    /// Bytes fetched and not yet handed to the application (bounded by the prefetch budget,
    /// plus at most one batch per partition that was larger than its share).
    pub fn buffered_bytes(&self) -> usize {
        self.shared.state.lock().buffered
    }

    /// Closes the consumer. With a group: the rebalance listener hears every partition
    /// revoked, the final commit is made (with auto-commit on: the offsets of every record
    /// handed out), and a dynamic member leaves the group (a static one keeps its place until
    /// its session times out, so a restart does not rebalance, as in Java). Then the fetcher
    /// stops, closing its fetch sessions. Records not yet received are dropped.
    ///
    /// Cancel-safe: the consumer is closed from the first poll on, and the group task finishes
    /// the commit and the leave on its own; a cancelled close only stops waiting for them.
    pub async fn close(mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake_fetcher.notify_one();
        self.close_group().await;
        if let Some(task) = self.fetcher.take() {
            let _ = task.await;
        }
        tracing::debug!("consumer closed");
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // Never blocks: the fetcher notices the flag and ends on its own; the group task sees
        // its command channel close and leaves the group on its own.
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake_fetcher.notify_one();
        self.shared.data_ready.notify_one();
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("assignment", &self.assignment())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
