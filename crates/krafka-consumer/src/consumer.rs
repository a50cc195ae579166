//! [`ConsumerBuilder`] and [`Consumer`]: manual assignment, positions, and receiving records
//! that the background fetcher (`fetcher`) has already brought in.
//!
//! A consumer is driven by one task (`&mut self` to receive, as Java's consumer is used from
//! one thread); the fetcher runs beside it on the runtime.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use krafka_net::{ClusterMetadata, ConnectionConfig, ConnectionPool, MetadataConfig};
use krafka_protocol::records::DecodeOptions;
use tokio::task::JoinHandle;

use crate::config::{AssignorKind, ConsumerConfig, IsolationLevel, OffsetReset};
use crate::drain::Drain;
use crate::error::ConsumeError;
use crate::fetcher::Fetcher;
use crate::metrics::{ConsumerMetrics, MetricsSnapshot};
use crate::record::{ConsumerRecord, TopicPartition};
use crate::state::{OffsetSpec, PartitionState, Shared};

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$name = value;
                self
            }
        )*
    };
}

/// Configures and starts a [`Consumer`].
#[derive(Debug, Clone, Default)]
pub struct ConsumerBuilder {
    config: ConsumerConfig,
    bootstrap: Option<String>,
}

impl ConsumerBuilder {
    /// Java's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The brokers to bootstrap from, comma-separated `host:port` (Java's
    /// `bootstrap.servers`). Needed by [`connect`](Self::connect).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap = Some(servers.into());
        self
    }

    setters! {
        /// Java's `fetch.min.bytes` (1).
        fetch_min_bytes: i32,
        /// Java's `fetch.max.bytes` (50 MiB).
        fetch_max_bytes: i32,
        /// Java's `max.partition.fetch.bytes` (1 MiB).
        max_partition_fetch_bytes: i32,
        /// Java's `fetch.max.wait.ms` (500 ms).
        fetch_max_wait: std::time::Duration,
        /// Java's `auto.offset.reset` (latest).
        auto_offset_reset: OffsetReset,
        /// Java's `enable.auto.commit` (true; only with a group).
        enable_auto_commit: bool,
        /// Java's `auto.commit.interval.ms` (5 s).
        auto_commit_interval: std::time::Duration,
        /// Java's `isolation.level` (read_uncommitted).
        isolation_level: IsolationLevel,
        /// Java's `session.timeout.ms` (45 s).
        session_timeout: std::time::Duration,
        /// Java's `heartbeat.interval.ms` (3 s).
        heartbeat_interval: std::time::Duration,
        /// Java's `max.poll.interval.ms` (5 min).
        max_poll_interval: std::time::Duration,
        /// Java's `check.crcs` (true).
        check_crcs: bool,
        /// The prefetch budget in bytes (64 MiB): see [`ConsumerConfig::max_buffered_bytes`].
        max_buffered_bytes: usize,
        /// Java's `max.poll.records` (500): the limit of [`Consumer::poll_default`].
        max_poll_records: usize,
        /// Java's `request.timeout.ms` (30 s).
        request_timeout: std::time::Duration,
        /// Java's `retry.backoff.ms` (100 ms).
        retry_backoff: std::time::Duration,
        /// Java's `retry.backoff.max.ms` (1 s).
        retry_backoff_max: std::time::Duration,
    }

    /// Java's `group.id`. Without one, only manual assignment works.
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.config.group_id = Some(group.into());
        self
    }

    /// Java's `group.instance.id`: static membership.
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.group_instance_id = Some(id.into());
        self
    }

    /// Java's `partition.assignment.strategy`, in order of preference.
    pub fn assignors(mut self, assignors: impl IntoIterator<Item = AssignorKind>) -> Self {
        self.config.assignors = assignors.into_iter().collect();
        self
    }

    /// Java's `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// The settings so far.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Validates the settings, connects to the bootstrap brokers and starts the fetcher.
    ///
    /// Cancel-safe: dropping the future before it completes leaves nothing running.
    pub async fn connect(self) -> Result<Consumer, ConsumeError> {
        self.config.validate()?;
        let bootstrap = self.bootstrap.clone().ok_or_else(|| {
            ConsumeError::Config(crate::ConsumerConfigError {
                setting: "bootstrap_servers",
                reason: "needed to connect".to_owned(),
            })
        })?;
        let connection = ConnectionConfig::builder()
            .client_id(self.config.client_id.clone())
            .request_timeout(self.config.request_timeout)
            .build()
            .map_err(|e| {
                ConsumeError::Config(crate::ConsumerConfigError {
                    setting: "connection",
                    reason: e.to_string(),
                })
            })?;
        let pool = ConnectionPool::new(connection);
        let metadata =
            ClusterMetadata::connect(pool, MetadataConfig::new(bootstrap.split(','))).await?;
        self.build_on(metadata)
    }

    /// Starts a consumer on an existing metadata cache and connection pool (shared with
    /// producers and other consumers). Must be called inside a Tokio runtime.
    pub fn build_on(self, metadata: ClusterMetadata) -> Result<Consumer, ConsumeError> {
        self.config.validate()?;
        let config = Arc::new(self.config);
        let shared = Arc::new(Shared::default());
        let fetcher = Fetcher::new(Arc::clone(&shared), metadata.clone(), Arc::clone(&config));
        let task = tokio::spawn(fetcher.run());
        let decode = DecodeOptions {
            verify_crc: config.check_crcs,
            ..DecodeOptions::default()
        };
        Ok(Consumer {
            shared,
            config,
            metadata,
            fetcher: Some(task),
            drain: None,
            decode,
        })
    }
}

/// A Kafka consumer.
///
/// Records arrive through [`recv`](Self::recv) and [`poll`](Self::poll); a background fetcher
/// keeps the next data coming while the application works, up to the prefetch budget
/// ([`ConsumerConfig::max_buffered_bytes`]).
pub struct Consumer {
    shared: Arc<Shared>,
    config: Arc<ConsumerConfig>,
    metadata: ClusterMetadata,
    fetcher: Option<JoinHandle<()>>,
    drain: Option<Drain>,
    decode: DecodeOptions,
}

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
    /// [`ConsumeError::NoPosition`] when it is `None`, until a seek).
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let wanted: std::collections::HashSet<TopicPartition> = partitions.into_iter().collect();
        self.metadata.add_topics(
            wanted
                .iter()
                .map(|p| p.topic.to_string())
                .collect::<Vec<_>>(),
        );
        if self
            .drain
            .as_ref()
            .is_some_and(|d| !wanted.contains(&d.partition))
        {
            self.drop_drain();
        }
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
                let fresh = PartitionState::new(reset, seed(&p));
                state.partitions.insert(p, fresh);
            }
        }
        drop(state);
        self.shared.wake_fetcher.notify_one();
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
        if self
            .drain
            .as_ref()
            .is_some_and(|d| d.partition == *partition)
        {
            self.drop_drain();
        }
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
        if self
            .drain
            .as_ref()
            .is_some_and(|d| d.partition == *partition)
        {
            self.drop_drain();
        }
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

    /// The next record, waiting until one arrives.
    ///
    /// Cancel-safe: a record is taken only after the wait has finished, so dropping the
    /// future loses nothing; the next call returns the same record.
    pub async fn recv(&mut self) -> Result<ConsumerRecord, ConsumeError> {
        loop {
            if let Some(record) = self.take_one()? {
                self.shared.metrics.records_returned(1);
                return Ok(record);
            }
            self.wait().await?;
        }
    }

    /// Up to `max` records, waiting until at least one arrives.
    ///
    /// Cancel-safe, like [`recv`](Self::recv).
    pub async fn poll(&mut self, max: usize) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        let mut out = Vec::new();
        loop {
            self.take_into(&mut out, max.max(1))?;
            if !out.is_empty() {
                self.shared.metrics.records_returned(out.len() as u64);
                return Ok(out);
            }
            self.wait().await?;
        }
    }

    /// Up to `max_poll_records` records (Java's `poll`), waiting until at least one arrives.
    /// Cancel-safe.
    pub async fn poll_default(&mut self) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        self.poll(self.config.max_poll_records).await
    }

    /// Up to `max` records already fetched, without waiting (possibly none).
    pub fn try_poll(&mut self, max: usize) -> Result<Vec<ConsumerRecord>, ConsumeError> {
        let mut out = Vec::new();
        self.take_into(&mut out, max)?;
        self.shared.metrics.records_returned(out.len() as u64);
        Ok(out)
    }

    async fn wait(&self) -> Result<(), ConsumeError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(ConsumeError::Closed);
        }
        self.shared.data_ready.notified().await;
        Ok(())
    }

    fn take_one(&mut self) -> Result<Option<ConsumerRecord>, ConsumeError> {
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

    fn take_into(&mut self, out: &mut Vec<ConsumerRecord>, max: usize) -> Result<(), ConsumeError> {
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
    fn next_drain(&mut self) -> Result<bool, ConsumeError> {
        let mut state = self.shared.state.lock();
        if let Some(error) = state.errors.pop_front() {
            return Err(error);
        }
        while let Some(fetch) = state.ready.pop_front() {
            let position = state
                .partitions
                .get(&fetch.partition)
                .filter(|p| p.epoch == fetch.epoch && !p.paused)
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
    fn finish_drain(&mut self) {
        self.release_drain(true);
    }

    /// Drops the current drain, keeping the position it reached.
    fn drop_drain(&mut self) {
        self.release_drain(false);
    }

    fn release_drain(&mut self, finished: bool) {
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
    fn corrupt(&mut self, error: krafka_protocol::DecodeError) -> ConsumeError {
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

    /// Stops the fetcher and waits for it to finish. Records not yet received are dropped.
    ///
    /// Cancel-safe: the consumer is closed from the first poll on; a cancelled close only
    /// stops waiting for the fetcher task to notice.
    pub async fn close(mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake_fetcher.notify_one();
        if let Some(task) = self.fetcher.take() {
            let _ = task.await;
        }
        tracing::debug!("consumer closed");
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // Never blocks: the fetcher notices the flag and ends on its own.
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
