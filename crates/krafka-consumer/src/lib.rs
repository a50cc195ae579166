//! The Krafka consumer: a background fetcher with a prefetch budget, batched offset lookups,
//! and records handed out as views into the fetched buffers.
//!
//! - [`config`]: [`ConsumerConfig`] with Java's defaults, validated;
//! - [`consumer`]: [`ConsumerBuilder`] and [`Consumer`] (assignment or subscription,
//!   positions, seeking, pausing, receiving, commits);
//! - `group`: consumer-group membership (the classic protocol): a background task per
//!   consumer with a `group_id` that finds the coordinator, joins, syncs, heartbeats, commits
//!   and leaves; the [`RebalanceListener`] the application hooks into it;
//! - `fetcher`: the background task: one Fetch per leader broker (`fetcher::fetch`) and
//!   one ListOffsets per broker for partitions that need a starting offset
//!   (`fetcher::offsets`);
//! - `drain`: a completed fetch handed out record by record (checksums, decompression and
//!   read_committed filtering happen here, on the application's task);
//! - `state`: what the consumer and its fetcher share;
//! - `fetcher::session`: KIP-227 incremental fetch sessions, one per broker;
//! - `assignor`: the range, round-robin and cooperative-sticky strategies a group leader
//!   assigns partitions with, and the consumer protocol's subscription and assignment bytes;
//! - [`record`]: [`ConsumerRecord`] and [`TopicPartition`]; [`error`]: [`ConsumeError`];
//!   [`metrics`]: [`ConsumerMetrics`].
//!
//! - [`consumer::ProcessError`] and `Consumer::process_partitioned`: records processed with
//!   bounded concurrency, in order per partition, committing finished work; the
//!   [`BlockingReceiver`] for a dedicated thread; [`RecordStream`] as a `futures::Stream`.
//!
//! See `docs/consumer.md` for the design, the guarantees and what each test checks.

pub(crate) mod assignor;
pub mod config;
pub mod consumer;
mod drain;
pub mod error;
pub(crate) mod fetcher;
pub(crate) mod group;
pub mod metrics;
pub mod record;
mod slots;
mod state;

pub use config::{AssignorKind, ConsumerConfig, ConsumerConfigError, IsolationLevel, OffsetReset};
pub use consumer::{
    BlockingReceiver, CommitHandle, Consumer, ConsumerBuilder, ProcessError, RecordStream,
};
pub use error::ConsumeError;
pub use group::{RebalanceListener, RevokedOffsets};
pub use metrics::{ConsumerMetrics, MetricsSnapshot};
pub use record::{ConsumerRecord, TopicPartition};
