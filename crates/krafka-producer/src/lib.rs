//! The Krafka producer: records in, acknowledged offsets out, with memory backpressure,
//! batching, retries that keep order, and idempotence.
//!
//! ```text
//! send ─► accumulator (one open batch per partition; memory reserved per batch)
//!            │ sealed: full, linger, flush
//!            ▼
//!         sender task ─► one Produce request per leader ─► broker lane (ordered enqueue)
//!            ▲                                               │
//!            └──────────── responses, in order ◄─────────────┘
//! ```
//!
//! - [`producer`]: [`ProducerBuilder`] and [`Producer`] (`send`, `try_send`, `send_blocking`,
//!   `flush`, `close`, metrics);
//! - [`record`]: [`ProducerRecord`] and [`RecordMetadata`]; [`delivery`]: [`DeliveryFuture`];
//! - [`config`]: settings with Java's defaults and their validation; [`error`]: [`ProduceError`];
//! - [`partitioner`]: murmur2 (Java-compatible), uniform sticky, round-robin, custom;
//! - `accumulator`, `memory`, `batch`, `sender`: the machinery, described in their module docs
//!   and in `docs/producer.md`.

mod accumulator;
mod batch;
pub mod config;
pub mod delivery;
pub mod error;
mod memory;
pub mod metrics;
pub mod partitioner;
pub mod producer;
pub mod record;
mod sender;

pub use config::{AccumulatorConfig, Acks, ProducerConfig, ProducerConfigError};
pub use delivery::DeliveryFuture;
pub use error::{ProduceError, Written};
pub use krafka_protocol::compression::Compression;
pub use metrics::{MetricsSnapshot, ProducerMetrics};
pub use partitioner::{Partitioner, PartitionerChoice, murmur2, partition_for_key};
pub use producer::{Producer, ProducerBuilder};
pub use record::{ProducerRecord, RecordHeader, RecordMetadata};
