//! The application's handle: [`ProducerBuilder`] to configure and connect, [`Producer`] to
//! send, flush and close.
//!
//! Cancel safety, method by method:
//! - [`Producer::send`] is cancel-safe: dropped before it returns, the record was not appended
//!   and no memory is held; once it returns, the record is in a batch and will resolve.
//! - The [`DeliveryFuture`] it returns may be dropped at any time; the record is still sent.
//! - [`Producer::flush`] is cancel-safe: dropping it stops the wait, not the sending.
//! - [`Producer::close`] is not undone by cancelling: the producer refuses new records from the
//!   first poll, and what was accepted is still delivered in the background.

use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_net::{ClusterMetadata, ConnectionPool, MetadataConfig};
use krafka_protocol::ErrorCode;
use krafka_protocol::compression::Compression;
use parking_lot::Mutex;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::accumulator::{Accumulator, Append};
use crate::config::{AccumulatorConfig, Acks, ProducerConfig};
use crate::delivery::DeliveryFuture;
use crate::error::ProduceError;
use crate::memory::ReserveError;
use crate::metrics::{MetricsSnapshot, ProducerMetrics};
use crate::partitioner::{Partitioner, PartitionerChoice};
use crate::record::ProducerRecord;
use crate::sender::{Event, Sender};

/// Configures and starts a [`Producer`].
#[derive(Debug, Clone, Default)]
pub struct ProducerBuilder {
    config: ProducerConfig,
    partitioner: PartitionerChoice,
    bootstrap: Option<String>,
    connection: krafka_net::ConnectionConfigBuilder,
    metadata_max_age: Option<std::time::Duration>,
}

impl ProducerBuilder {
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

    /// The connection settings [`connect`](Self::connect) starts from: security (TLS, SASL),
    /// socket buffers, reconnect backoff, idle and connect timeouts. Client id, request
    /// timeout and in-flight limit are this builder's own and override them.
    pub fn connection(mut self, connection: krafka_net::ConnectionConfigBuilder) -> Self {
        self.connection = connection;
        self
    }

    /// TLS and SASL for [`connect`](Self::connect) (Java's `security.protocol`, `ssl.*`,
    /// `sasl.*`).
    pub fn security(mut self, security: krafka_net::SecurityConfig) -> Self {
        self.connection = self.connection.security(security);
        self
    }

    /// Java's `metadata.max.age.ms` for [`connect`](Self::connect) (5 minutes).
    pub fn metadata_max_age(mut self, age: std::time::Duration) -> Self {
        self.metadata_max_age = Some(age);
        self
    }

    krafka_net::config_setters! {
        /// `batch.size` in bytes.
        batch_size: usize,
        /// `linger.ms`.
        linger: Duration,
        /// `acks`.
        acks: Acks,
        /// `enable.idempotence`.
        idempotence: bool,
        /// `compression.type`, at the codec's default level unless `compression_level` is set.
        compression: Compression,
        /// `buffer.memory` in bytes.
        buffer_memory: usize,
        /// `max.block.ms`.
        max_block: Duration,
        /// `delivery.timeout.ms`.
        delivery_timeout: Duration,
        /// `request.timeout.ms`.
        request_timeout: Duration,
        /// `max.in.flight.requests.per.connection`.
        max_in_flight_requests_per_connection: usize,
        /// `max.request.size` in bytes.
        max_request_size: usize,
    }

    /// The compression level (`compression.<codec>.level`).
    pub fn compression_level(mut self, level: i32) -> Self {
        self.config.compression_level = Some(level);
        self
    }

    /// `retry.backoff.ms` and `retry.backoff.max.ms`.
    pub fn retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.config.retry_backoff = first;
        self.config.retry_backoff_max = max;
        self
    }

    /// The partitioner.
    pub fn partitioner(mut self, partitioner: PartitionerChoice) -> Self {
        self.partitioner = partitioner;
        self
    }

    /// An application's partitioner.
    pub fn custom_partitioner(self, partitioner: Arc<dyn Partitioner>) -> Self {
        self.partitioner(PartitionerChoice::Custom(partitioner))
    }

    /// `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// The memory and batching settings at once.
    pub fn accumulator(mut self, accumulator: AccumulatorConfig) -> Self {
        self.config.set_accumulator(&accumulator);
        self
    }

    /// The settings so far.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Connects to the bootstrap brokers with a pool and metadata cache of its own, which
    /// [`Producer::close`] closes. Cancel-safe: nothing is left running if dropped.
    pub async fn connect(self) -> Result<Producer, ProduceError> {
        self.config.validate()?;
        let bootstrap = self.bootstrap.clone().ok_or_else(|| {
            ProduceError::Config(crate::config::ProducerConfigError {
                setting: "bootstrap_servers",
                reason: "no bootstrap brokers given".into(),
            })
        })?;
        let connection = self
            .connection
            .clone()
            .client_id(self.config.client_id.clone())
            .request_timeout(self.config.request_timeout)
            .max_in_flight_requests(self.config.max_in_flight_requests_per_connection)
            .build()
            .map_err(|e| {
                ProduceError::Config(crate::config::ProducerConfigError {
                    setting: e.field,
                    reason: e.reason,
                })
            })?;
        let pool = ConnectionPool::new(connection);
        let mut metadata_config = MetadataConfig::new(bootstrap.split(','));
        if let Some(age) = self.metadata_max_age {
            metadata_config.max_age = age;
        }
        let metadata = ClusterMetadata::connect(pool, metadata_config)
            .await
            .map_err(|error| ProduceError::Network {
                error,
                written: crate::error::Written::No,
            })?;
        let producer = self.build_on(metadata)?;
        Ok(Producer {
            owns_pool: true,
            ..producer
        })
    }

    /// Starts a producer on a metadata cache (and its pool) shared with other clients; closing
    /// the producer leaves them open. Must be called inside a Tokio runtime.
    pub fn build_on(self, metadata: ClusterMetadata) -> Result<Producer, ProduceError> {
        self.config.validate()?;
        let config = Arc::new(self.config);
        let metrics = Arc::new(ProducerMetrics::default());
        let (events_tx, events_rx) = unbounded_channel();
        let accumulator = Arc::new(Accumulator::new(
            config.clone(),
            Box::new(events_tx.clone()),
            self.partitioner,
            metrics.clone(),
        ));
        let sender = Sender::new(
            config.clone(),
            metadata.clone(),
            accumulator.clone(),
            metrics.clone(),
            events_tx.clone(),
        );
        let task = tokio::spawn(sender.run(events_rx));
        Ok(Producer {
            inner: Arc::new(Inner {
                config,
                accumulator,
                metadata,
                events: events_tx,
                metrics,
                sender_task: Mutex::new(Some(task)),
                runtime: tokio::runtime::Handle::current(),
            }),
            owns_pool: false,
        })
    }
}

#[derive(Debug)]
struct Inner {
    config: Arc<ProducerConfig>,
    accumulator: Arc<Accumulator>,
    metadata: ClusterMetadata,
    events: UnboundedSender<Event>,
    metrics: Arc<ProducerMetrics>,
    sender_task: Mutex<Option<JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    /// The last handle is gone without `close`: refuse new records and let the sender deliver
    /// what was accepted in the background. Never blocks.
    fn drop(&mut self) {
        self.accumulator.close();
        self.accumulator.seal_all();
        let _ = self.events.send(Event::Close(None));
    }
}

/// A Kafka producer. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
    owns_pool: bool,
}

/// Buffer memory held by a `send` between waiting for it and appending.
struct Held<'a> {
    accumulator: &'a Accumulator,
    bytes: usize,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.accumulator.memory.release(self.bytes);
        }
    }
}

impl Producer {
    /// Appends a record to its partition's batch and returns the future of its outcome.
    ///
    /// Waits up to `max_block` when the buffer is full (woken as soon as acknowledged batches
    /// free memory) or the topic's metadata is not known yet; then fails with
    /// [`ProduceError::BufferExhausted`] or [`ProduceError::UnknownTopic`]. Cancel-safe: see the
    /// module docs.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        self.check_size(&record)?;
        let accumulator = &self.inner.accumulator;
        let started = Instant::now();
        let deadline = krafka_net::deadline_after(started, self.inner.config.max_block);
        let mut held = Held {
            accumulator,
            bytes: 0,
        };
        loop {
            match accumulator.try_append(&record, &mut held.bytes)? {
                Append::Done(future) => return Ok(future),
                Append::NeedsMemory(bytes) => {
                    accumulator.memory.release(std::mem::take(&mut held.bytes));
                    match accumulator.memory.reserve(bytes, deadline).await {
                        Ok(()) => held.bytes = bytes,
                        Err(ReserveError::TimedOut(_)) => {
                            return Err(ProduceError::BufferExhausted {
                                waited: started.elapsed(),
                                buffer_memory: accumulator.memory.total(),
                            });
                        }
                        Err(ReserveError::Closed) => {
                            return Err(accumulator.fatal().unwrap_or(ProduceError::Closed));
                        }
                    }
                }
                Append::UnknownTopic => self.wait_for_topic(&record, started, deadline).await?,
            }
        }
    }

    /// Like [`send`](Self::send), but never waits: a full buffer is
    /// [`ProduceError::BufferFull`], an unknown topic [`ProduceError::UnknownTopic`] (its
    /// metadata is requested, so a later call may succeed).
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        self.check_size(&record)?;
        let accumulator = &self.inner.accumulator;
        let mut held = Held {
            accumulator,
            bytes: 0,
        };
        for _ in 0..2 {
            match accumulator.try_append(&record, &mut held.bytes)? {
                Append::Done(future) => return Ok(future),
                Append::NeedsMemory(_) => return Err(ProduceError::BufferFull),
                Append::UnknownTopic => {
                    if !self.learn_topic(&record.topic) {
                        self.inner.metadata.add_topics([&*record.topic]);
                        break;
                    }
                }
            }
        }
        Err(ProduceError::UnknownTopic {
            topic: record.topic.clone(),
            waited: Duration::ZERO,
        })
    }

    /// [`send`](Self::send) for a thread outside the async runtime: blocks the thread instead
    /// of awaiting. Fails with [`ProduceError::BlockingInAsyncContext`] on a runtime thread.
    /// Wait for the outcome with [`DeliveryFuture::wait`].
    pub fn send_blocking(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(ProduceError::BlockingInAsyncContext);
        }
        self.inner.runtime.block_on(self.send(record))
    }

    /// Sends every batch now (linger or not) and waits until every record sent before the
    /// call has its outcome. Cancel-safe.
    pub async fn flush(&self) {
        self.inner.accumulator.seal_all();
        let (tx, rx) = oneshot::channel();
        if self.inner.events.send(Event::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops accepting records, delivers every accepted one (each resolves, with an error if
    /// its delivery timeout passes), then stops the sender and, if the producer made its own,
    /// closes the connections. Later sends fail with [`ProduceError::Closed`].
    pub async fn close(&self) {
        let accumulator = &self.inner.accumulator;
        accumulator.close();
        accumulator.seal_all();
        let (tx, rx) = oneshot::channel();
        if self.inner.events.send(Event::Close(Some(tx))).is_ok() {
            let _ = rx.await;
        }
        let task = self.inner.sender_task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        if self.owns_pool {
            self.inner.metadata.pool().close().await;
        }
    }

    /// The counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        let memory = &self.inner.accumulator.memory;
        self.inner
            .metrics
            .snapshot(memory.available(), memory.total(), memory.blocked())
    }

    /// The request latency histogram and other live counters.
    pub fn live_metrics(&self) -> &ProducerMetrics {
        &self.inner.metrics
    }

    /// The settings this producer runs with.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The metadata cache (shared with the pool the producer sends through).
    pub fn metadata(&self) -> &ClusterMetadata {
        &self.inner.metadata
    }

    fn check_size(&self, record: &ProducerRecord) -> Result<(), ProduceError> {
        if let Some(fatal) = self.inner.accumulator.fatal() {
            return Err(fatal);
        }
        let size = krafka_protocol::records::RECORD_BATCH_OVERHEAD + record.size_upper_bound();
        let config = &self.inner.config;
        if size > config.max_request_size {
            return Err(ProduceError::RecordTooLarge {
                size,
                limit: config.max_request_size,
                setting: "max_request_size",
            });
        }
        if size > config.buffer_memory {
            return Err(ProduceError::RecordTooLarge {
                size,
                limit: config.buffer_memory,
                setting: "buffer_memory",
            });
        }
        Ok(())
    }

    /// Makes the accumulator's queues for `topic` from the current snapshot, if it has the
    /// topic.
    fn learn_topic(&self, topic: &Arc<str>) -> bool {
        let snapshot = self.inner.metadata.snapshot();
        match snapshot.topic(topic) {
            Some(info) if info.error == ErrorCode::NONE && !info.partitions.is_empty() => {
                self.inner
                    .accumulator
                    .ensure_topic(topic, info.partitions.len());
                true
            }
            _ => false,
        }
    }

    async fn wait_for_topic(
        &self,
        record: &ProducerRecord,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), ProduceError> {
        let metadata = &self.inner.metadata;
        metadata.add_topics([&*record.topic]);
        loop {
            if self.learn_topic(&record.topic) {
                return Ok(());
            }
            let refreshed = tokio::time::timeout_at(
                tokio::time::Instant::from_std(deadline),
                metadata.refresh(),
            )
            .await;
            if refreshed.is_err() || Instant::now() >= deadline {
                return Err(ProduceError::UnknownTopic {
                    topic: record.topic.clone(),
                    waited: started.elapsed(),
                });
            }
        }
    }
}
