//! The record accumulator: one open batch per partition that `send` encodes records into, and
//! the memory those batches hold.
//!
//! The hot path takes a shared read lock on the topic table and the partition's own mutex;
//! nothing global is exclusive. A batch is sealed (compressed once, header and CRC written)
//! when the next record does not fit, when its linger expires (the sender asks), or on flush,
//! and is handed to the sender through its event channel while the partition lock is held, so
//! that the sender sees each partition's batches in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use krafka_protocol::compression::Codecs;
use krafka_protocol::records::{BatchOptions, RECORD_BATCH_OVERHEAD, RecordBatchBuilder};
use parking_lot::{Mutex, RwLock};

use crate::batch::{ProducerBatch, TopicPartition};
use crate::config::ProducerConfig;
use crate::delivery::{BatchCompletion, DeliveryFuture, Outcome};
use crate::error::ProduceError;
use crate::memory::BufferMemory;
use crate::metrics::ProducerMetrics;
use crate::partitioner::{PartitionerChoice, TopicPartitioner, partition_for_key};
use crate::record::ProducerRecord;

/// Headers beyond this many are collected on the heap for encoding; fewer stay on the stack.
const STACK_HEADERS: usize = 8;

/// The open batch of one partition.
#[derive(Debug)]
struct OpenBatch {
    builder: RecordBatchBuilder,
    completion: Arc<BatchCompletion>,
    created: Instant,
    reserved: usize,
    id: u64,
}

/// One partition's slot in the accumulator.
#[derive(Debug)]
pub(crate) struct PartitionQueue {
    pub(crate) tp: Arc<TopicPartition>,
    open: Mutex<Option<OpenBatch>>,
}

/// A topic's partitions and partitioner state.
#[derive(Debug)]
pub(crate) struct TopicQueues {
    partitions: Vec<Arc<PartitionQueue>>,
    partitioner: TopicPartitioner,
}

/// What an append attempt needs.
pub(crate) enum Append {
    Done(DeliveryFuture),
    /// A new batch is needed and this much memory is not free.
    NeedsMemory(usize),
    /// The topic is not known yet.
    UnknownTopic,
}

/// Where the accumulator's batches go: the sender, which implements this on its channel.
/// The accumulator speaks only of its own batches, so it need not know the sender.
pub(crate) trait BatchSink: Send + Sync + std::fmt::Debug {
    /// A batch is sealed and ready to send; handed back when nobody sends any more.
    fn sealed(&self, batch: ProducerBatch) -> Option<ProducerBatch>;

    /// Batch `batch_id` of `queue` was opened: seal it at `deadline` unless it fills first.
    fn linger(&self, queue: Arc<PartitionQueue>, batch_id: u64, deadline: Instant);
}

/// The accumulator.
#[derive(Debug)]
pub(crate) struct Accumulator {
    config: Arc<ProducerConfig>,
    topics: RwLock<HashMap<Arc<str>, Arc<TopicQueues>>>,
    pub(crate) memory: BufferMemory,
    sink: Box<dyn BatchSink>,
    codecs: Codecs,
    partitioner: PartitionerChoice,
    next_batch_id: AtomicU64,
    closed: AtomicBool,
    /// Set when the producer can no longer send (fenced, unauthorized).
    fatal: OnceLock<ProduceError>,
    metrics: Arc<ProducerMetrics>,
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Accumulator {
    pub(crate) fn new(
        config: Arc<ProducerConfig>,
        sink: Box<dyn BatchSink>,
        partitioner: PartitionerChoice,
        metrics: Arc<ProducerMetrics>,
    ) -> Self {
        Self {
            memory: BufferMemory::new(config.buffer_memory),
            config,
            topics: RwLock::new(HashMap::new()),
            sink,
            codecs: Codecs::default(),
            partitioner,
            next_batch_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            fatal: OnceLock::new(),
            metrics,
        }
    }

    pub(crate) fn codecs(&self) -> &Codecs {
        &self.codecs
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Refuses further appends and wakes callers waiting for memory.
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
        self.memory.close();
    }

    /// The error that stopped the producer, if one did.
    pub(crate) fn fatal(&self) -> Option<ProduceError> {
        self.fatal.get().cloned()
    }

    /// Stops the producer: every later `send` fails with `error`.
    pub(crate) fn set_fatal(&self, error: ProduceError) {
        let _ = self.fatal.set(error);
        self.memory.close();
    }

    /// Grows topics whose partition count went up in `snapshot`.
    pub(crate) fn grow_topics(&self, snapshot: &krafka_net::MetadataSnapshot) {
        let grown: Vec<(Arc<str>, usize)> = self
            .topics
            .read()
            .iter()
            .filter_map(|(name, queues)| {
                let now = snapshot.topic(name)?.partitions.len();
                (now > queues.partitions.len()).then(|| (name.clone(), now))
            })
            .collect();
        for (name, partitions) in grown {
            tracing::info!(topic = %name, partitions, "topic gained partitions");
            self.ensure_topic(&name, partitions);
        }
    }

    /// Whether the topic has queues, and how many partitions.
    pub(crate) fn partition_count(&self, topic: &str) -> Option<usize> {
        self.topics.read().get(topic).map(|t| t.partitions.len())
    }

    /// Makes (or grows) a topic's queues to `partitions`.
    pub(crate) fn ensure_topic(&self, topic: &Arc<str>, partitions: usize) {
        if self.partition_count(topic).is_some_and(|n| n >= partitions) {
            return;
        }
        let mut topics = self.topics.write();
        let existing = topics.get(topic).cloned();
        let mut queues: Vec<Arc<PartitionQueue>> = existing
            .as_ref()
            .map(|t| t.partitions.clone())
            .unwrap_or_default();
        if queues.len() >= partitions {
            return;
        }
        for p in queues.len()..partitions {
            queues.push(Arc::new(PartitionQueue {
                tp: TopicPartition::new(topic.clone(), p as i32),
                open: Mutex::new(None),
            }));
        }
        let seed = topic.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        // The batch counter varies the start between producers' lives as well.
        let partitioner = TopicPartitioner::new(seed ^ self.next_batch_id.load(Relaxed));
        topics.insert(
            topic.clone(),
            Arc::new(TopicQueues {
                partitions: queues,
                partitioner,
            }),
        );
    }

    /// Appends a record without waiting. `reserved` is memory the caller already holds for a
    /// new batch (0 if none); it is used or left for the caller to release.
    pub(crate) fn try_append(
        &self,
        record: &ProducerRecord,
        reserved: &mut usize,
    ) -> Result<Append, ProduceError> {
        if self.is_closed() {
            return Err(ProduceError::Closed);
        }
        let topics = self.topics.read();
        let Some(topic) = topics.get(&record.topic) else {
            return Ok(Append::UnknownTopic);
        };
        let count = topic.partitions.len();
        let partition = self.choose_partition(topic, record, count)?;
        let Some(queue) = topic.partitions.get(partition) else {
            return Err(ProduceError::InvalidPartition {
                topic: record.topic.clone(),
                partition: partition as i32,
                partitions: count,
            });
        };
        let timestamp = record.timestamp.unwrap_or_else(now_millis);
        let mut stack: [(&str, Option<&[u8]>); STACK_HEADERS] = [("", None); STACK_HEADERS];
        let heap: Vec<(&str, Option<&[u8]>)>;
        let headers: &[(&str, Option<&[u8]>)] = if record.headers.len() <= STACK_HEADERS {
            for (slot, h) in stack.iter_mut().zip(&record.headers) {
                *slot = (h.key.as_str(), h.value.as_deref());
            }
            &stack[..record.headers.len()]
        } else {
            heap = record
                .headers
                .iter()
                .map(|h| (h.key.as_str(), h.value.as_deref()))
                .collect();
            &heap
        };
        let (key, value) = (record.key.as_deref(), record.value.as_deref());
        let batch_size = self.config.batch_size;

        let mut open = queue.open.lock();
        // Again under the lock, which orders this append against `close`'s sealing: a batch
        // opened after it would never be sealed.
        if self.is_closed() {
            return Err(ProduceError::Closed);
        }
        if let Some(batch) = open.as_mut() {
            if batch.builder.has_room_for(batch_size, key, value, headers) {
                let delta = batch
                    .builder
                    .append(timestamp, key, value, headers)
                    .map_err(|e| ProduceError::Encode(e.to_string().into()))?;
                let future = DeliveryFuture::new(batch.completion.clone(), delta as u32, timestamp);
                if batch.builder.size_estimate() >= batch_size {
                    self.seal_locked(queue, &mut open);
                }
                return Ok(Append::Done(future));
            }
            self.seal_locked(queue, &mut open);
        }

        // A new batch: its capacity is `batch_size`, or the record's size if larger.
        let need = batch_size.max(RECORD_BATCH_OVERHEAD + record.size_upper_bound());
        let take = if *reserved >= need {
            std::mem::take(reserved)
        } else if self.memory.try_reserve(need) {
            need
        } else {
            return Ok(Append::NeedsMemory(need));
        };
        let mut builder = RecordBatchBuilder::new(BatchOptions {
            compression: self.config.compression,
            compression_level: self.config.compression_level,
            initial_capacity: need,
            ..Default::default()
        });
        let delta = match builder.append(timestamp, key, value, headers) {
            Ok(d) => d,
            Err(e) => {
                self.memory.release(take);
                return Err(ProduceError::Encode(e.to_string().into()));
            }
        };
        let completion = BatchCompletion::new(record.topic.clone(), queue.tp.partition);
        let future = DeliveryFuture::new(completion.clone(), delta as u32, timestamp);
        let id = self.next_batch_id.fetch_add(1, Relaxed);
        let created = Instant::now();
        *open = Some(OpenBatch {
            builder,
            completion,
            created,
            reserved: take,
            id,
        });
        if open
            .as_ref()
            .is_some_and(|b| b.builder.size_estimate() >= batch_size)
        {
            self.seal_locked(queue, &mut open);
        } else {
            self.sink.linger(
                queue.clone(),
                id,
                krafka_net::deadline_after(created, self.config.linger),
            );
        }
        Ok(Append::Done(future))
    }

    fn choose_partition(
        &self,
        topic: &TopicQueues,
        record: &ProducerRecord,
        count: usize,
    ) -> Result<usize, ProduceError> {
        let partitions = u32::try_from(count).unwrap_or(u32::MAX);
        if let Some(p) = record.partition {
            return usize::try_from(p)
                .ok()
                .filter(|&p| p < count)
                .ok_or_else(|| ProduceError::InvalidPartition {
                    topic: record.topic.clone(),
                    partition: p,
                    partitions: count,
                });
        }
        let chosen = match &self.partitioner {
            PartitionerChoice::RoundRobin => Some(topic.partitioner.round_robin(partitions)),
            PartitionerChoice::Custom(custom) => custom.partition(
                &record.topic,
                record.key.as_deref(),
                record.value.as_deref(),
                partitions,
            ),
            PartitionerChoice::Default => None,
        };
        let chosen = chosen.unwrap_or_else(|| match &record.key {
            Some(key) => partition_for_key(key, partitions),
            None => topic.partitioner.sticky(
                partitions,
                record.size_upper_bound(),
                self.config.batch_size,
            ),
        });
        let chosen = chosen as usize;
        if chosen >= count {
            return Err(ProduceError::InvalidPartition {
                topic: record.topic.clone(),
                partition: chosen as i32,
                partitions: count,
            });
        }
        Ok(chosen)
    }

    /// Seals the open batch of `queue` and hands it to the sender. The partition lock is held
    /// by the caller, which keeps the partition's batches in order on the channel.
    fn seal_locked(&self, queue: &PartitionQueue, open: &mut Option<OpenBatch>) {
        let Some(batch) = open.take() else {
            return;
        };
        let count = batch.builder.record_count();
        match batch.builder.finish_mut(&self.codecs) {
            Ok(bytes) => {
                self.metrics.batch_sealed(count);
                let sealed = ProducerBatch::sealed(
                    queue.tp.clone(),
                    bytes,
                    count,
                    batch.completion,
                    batch.created,
                    batch.reserved,
                );
                if let Some(b) = self.sink.sealed(sealed) {
                    b.resolve(Outcome::Failed(ProduceError::Closed));
                    self.memory.release(b.reserved);
                }
            }
            Err(e) => {
                batch.completion.resolve(
                    0,
                    Outcome::Failed(ProduceError::Encode(e.to_string().into())),
                );
                self.memory.release(batch.reserved);
            }
        }
    }

    /// Seals the open batch of `queue` if it is still batch `batch_id` (its linger expired).
    pub(crate) fn seal_if(&self, queue: &PartitionQueue, batch_id: u64) {
        let mut open = queue.open.lock();
        if open.as_ref().is_some_and(|b| b.id == batch_id) {
            self.seal_locked(queue, &mut open);
        }
    }

    /// Seals every open batch (flush and close).
    pub(crate) fn seal_all(&self) {
        let topics: Vec<Arc<TopicQueues>> = self.topics.read().values().cloned().collect();
        for topic in topics {
            for queue in &topic.partitions {
                let mut open = queue.open.lock();
                self.seal_locked(queue, &mut open);
            }
        }
    }
}
