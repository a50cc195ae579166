//! What the fetcher's loop ([`super`]) and its request modules (`fetch`, `offsets`) share:
//! the task's state, the partitions a request carries and what a request task reports.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use krafka_net::{Backoff, ClusterMetadata, NetError};
use krafka_protocol::messages::{FetchResponse, ListOffsetsResponse};
use krafka_protocol::{StrBytes, Uuid};
use tokio::sync::mpsc;

use super::session::FetchSession;
use crate::config::ConsumerConfig;
use crate::record::TopicPartition;
use crate::state::{OffsetSpec, Shared};

/// A partition as one request carried it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub partition: TopicPartition,
    /// The topic's id as metadata gave it (zero when the broker has none).
    pub topic_id: Uuid,
    /// The partition's epoch when the request was planned.
    pub epoch: u64,
    /// The fetch offset (fetches) or unused (lookups).
    pub offset: i64,
    /// The leader epoch metadata gave.
    pub leader_epoch: i32,
    /// The partition's byte limit (fetches) or unused (lookups).
    pub max_bytes: i32,
    /// What a lookup asks for.
    pub spec: OffsetSpec,
}

/// One topic's entries in a request.
pub(crate) struct TopicEntries<T> {
    pub name: StrBytes,
    pub id: Uuid,
    pub entries: Vec<T>,
}

/// Groups request entries by topic, keeping first-seen order: the shape of Fetch and
/// ListOffsets requests and of a fetch session's forgotten topics. `key` names an item's
/// partition and topic id.
pub(crate) fn by_topic<'a, I, T>(
    items: impl IntoIterator<Item = &'a I>,
    key: impl Fn(&'a I) -> (&'a TopicPartition, Uuid),
    entry: impl FnMut(&'a I) -> T,
) -> Vec<TopicEntries<T>>
where
    I: 'a,
{
    krafka_protocol::grouping::by_topic(
        items,
        |item| {
            let (tp, id) = key(item);
            (&*tp.topic, id)
        },
        entry,
    )
    .into_iter()
    .map(|((name, id), entries)| TopicEntries {
        name: StrBytes::from(name),
        id,
        entries,
    })
    .collect()
}

/// The partition and topic id a request entry is for.
pub(crate) fn sent_key(s: &Sent) -> (&TopicPartition, Uuid) {
    (&s.partition, s.topic_id)
}

/// What a request task reports.
pub(crate) enum Event {
    Fetched {
        broker: i32,
        sent: Vec<Sent>,
        started: Instant,
        result: Result<FetchResponse, NetError>,
        /// The broker's session, back from the request.
        session: FetchSession,
    },
    Offsets {
        broker: i32,
        sent: Vec<Sent>,
        result: Result<ListOffsetsResponse, NetError>,
    },
    Metadata(Result<(), NetError>),
}

/// What the fetcher knows about one broker.
pub(crate) struct BrokerState {
    pub fetching: bool,
    pub retry_at: Option<Instant>,
    pub backoff: Backoff,
    /// Its fetch session (a placeholder while a fetch has it).
    pub session: FetchSession,
}

/// The fetcher task's state; its loop is in [`super`], its requests in `fetch` and `offsets`.
pub(crate) struct Fetcher {
    pub shared: Arc<Shared>,
    pub metadata: ClusterMetadata,
    pub config: Arc<ConsumerConfig>,
    pub events_tx: mpsc::UnboundedSender<Event>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub brokers: HashMap<i32, BrokerState>,
    pub refreshing: bool,
    pub last_refresh: Option<Instant>,
}

impl Fetcher {
    pub(crate) fn broker(&mut self, id: i32) -> &mut BrokerState {
        let config = &self.config;
        self.brokers.entry(id).or_insert_with(|| BrokerState {
            fetching: false,
            retry_at: None,
            backoff: Backoff::new(config.retry_backoff, config.retry_backoff_max, id as u64),
            session: FetchSession::default(),
        })
    }
}
