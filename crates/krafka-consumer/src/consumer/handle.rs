//! What the application's [`Consumer`] handle holds. Its methods live by responsibility in the
//! sibling modules (see [`super`]); the state is here, so that none of them imports another's.

use std::sync::Arc;

use krafka_net::ClusterMetadata;
use krafka_protocol::records::DecodeOptions;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::ConsumerConfig;
use crate::drain::Drain;
use crate::group::{Command, RebalanceListener};
use crate::record::TopicPartition;
use crate::state::Shared;

/// A Kafka consumer.
///
/// Records arrive through [`recv`](Self::recv) and [`poll`](Self::poll); a background fetcher
/// keeps the next data coming while the application works, up to the prefetch budget
/// ([`ConsumerConfig::max_buffered_bytes`]).
pub struct Consumer {
    pub(super) shared: Arc<Shared>,
    pub(super) config: Arc<ConsumerConfig>,
    pub(super) metadata: ClusterMetadata,
    pub(super) fetcher: Option<JoinHandle<()>>,
    pub(super) drain: Option<Drain>,
    pub(super) decode: DecodeOptions,
    /// The group task and what the application side keeps of it (with a `group_id`).
    pub(super) group: Option<GroupLink>,
    /// `recv`/`poll` calls so far (published for `max_poll_interval`).
    pub(super) polls: u64,
    /// While a processing helper runs: the offset after the last record it finished, per
    /// partition. Commits (auto, on revocation, on close) use these instead of positions.
    pub(super) processed: Option<Processed>,
}

/// Offsets a processing helper has finished, shared with its workers.
pub(crate) type Processed = Arc<parking_lot::Mutex<std::collections::HashMap<TopicPartition, i64>>>;

/// The consumer's link to its group task.
pub(crate) struct GroupLink {
    pub commands: mpsc::UnboundedSender<Command>,
    pub task: Option<JoinHandle<()>>,
    pub listener: Option<Box<dyn RebalanceListener>>,
    /// The group task's change counter when last applied.
    pub seen_changes: u64,
    /// Whether the consumer subscribes (rather than assigns).
    pub subscribed: bool,
}
