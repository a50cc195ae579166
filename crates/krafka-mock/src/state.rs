//! The state every broker of a mock cluster shares: brokers, topics, partitions and their logs.
//!
//! One `ClusterState` behind an `Arc`; topics are read far more often than created, so the topic
//! map is behind a read-write lock, and each partition's log has its own mutex so produce and
//! fetch on different partitions never contend. No lock is held across an `.await`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Instant;

use krafka_protocol::ApiKey;

use krafka_protocol::{ErrorCode, Uuid};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::log::PartitionLog;

/// Kafka's default `max.incremental.fetch.session.cache.slots`.
pub const DEFAULT_FETCH_SESSION_SLOTS: usize = 1000;

/// A broker's identity and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// The node id.
    pub node_id: i32,
    /// The host clients connect to (always 127.0.0.1).
    pub host: String,
    /// The port it listens on.
    pub port: u16,
    /// Whether it is up (a broker taken down is left out of Metadata).
    pub up: bool,
}

/// One partition: its leader and its log.
#[derive(Debug)]
pub struct Partition {
    leader: AtomicI32,
    leader_epoch: AtomicI32,
    /// The records.
    pub log: Mutex<PartitionLog>,
}

impl Partition {
    fn new(leader: i32) -> Self {
        Self {
            leader: AtomicI32::new(leader),
            leader_epoch: AtomicI32::new(0),
            log: Mutex::default(),
        }
    }

    /// The node id of the leader.
    pub fn leader(&self) -> i32 {
        self.leader.load(Ordering::Acquire)
    }

    /// The leader epoch, bumped each time the leader moves.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Acquire)
    }

    /// Moves leadership to `node_id` and bumps the epoch; returns the new epoch.
    pub fn move_leader(&self, node_id: i32) -> i32 {
        self.leader.store(node_id, Ordering::Release);
        self.leader_epoch.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// One request a broker received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The broker that received it.
    pub broker: i32,
    /// Its API.
    pub api_key: ApiKey,
    /// Its version.
    pub version: i16,
    /// Its correlation id.
    pub correlation_id: i32,
    /// The client's address: one per connection, so tests can tell connections apart.
    pub peer: Option<std::net::SocketAddr>,
    /// When it arrived.
    pub at: Instant,
}

/// One topic.
#[derive(Debug)]
pub struct Topic {
    /// The topic id (Metadata v10+, Fetch v13+).
    pub id: Uuid,
    /// The partitions, by index.
    pub partitions: Vec<Arc<Partition>>,
    /// Configs set at creation, overriding the defaults DescribeConfigs reports.
    pub configs: BTreeMap<String, String>,
}

/// Everything the brokers of one cluster share.
#[derive(Debug)]
pub struct ClusterState {
    /// The cluster id every broker reports.
    pub cluster_id: String,
    /// The brokers, by position; `brokers[0]` is the controller.
    pub brokers: RwLock<Vec<BrokerInfo>>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Whether Metadata and Produce create unknown topics.
    pub auto_create_topics: bool,
    /// The partition count of auto-created topics.
    pub default_partitions: i32,
    /// Woken whenever any partition grows, so waiting fetches re-check.
    pub data_arrived: Notify,
    next_topic_id: AtomicU64,
    /// Every request received, in arrival order.
    pub requests: Mutex<Vec<RequestRecord>>,
    /// The fault-injection hooks, consulted for every request.
    pub hooks: crate::faults::Hooks,
    /// Producer ids and epochs (InitProducerId).
    pub producer_ids: crate::producers::ProducerIds,
    /// KIP-227 fetch sessions, per broker.
    pub fetch_sessions: crate::sessions::SessionCache,
    /// Group coordinators and committed offsets.
    pub groups: crate::groups::Groups,
    /// Group membership (the classic protocol).
    pub memberships: crate::membership::Memberships,
    /// Per-broker caps on API versions, to impersonate older brokers.
    version_caps: RwLock<BTreeMap<(i32, i16), i16>>,
    /// Per-broker throttling (quota enforcement), in milliseconds.
    throttles: RwLock<BTreeMap<i32, i32>>,
}

impl ClusterState {
    /// An empty cluster.
    pub fn new(
        cluster_id: String,
        auto_create_topics: bool,
        default_partitions: i32,
        fetch_session_slots: usize,
    ) -> Self {
        Self {
            cluster_id,
            brokers: RwLock::new(Vec::new()),
            topics: RwLock::new(BTreeMap::new()),
            auto_create_topics,
            default_partitions,
            data_arrived: Notify::new(),
            next_topic_id: AtomicU64::new(1),
            requests: Mutex::new(Vec::new()),
            hooks: crate::faults::Hooks::default(),
            producer_ids: crate::producers::ProducerIds::default(),
            fetch_sessions: crate::sessions::SessionCache::new(fetch_session_slots),
            groups: crate::groups::Groups::default(),
            memberships: crate::membership::Memberships::default(),
            version_caps: RwLock::new(BTreeMap::new()),
            throttles: RwLock::new(BTreeMap::new()),
        }
    }

    /// The controller's node id: the first broker that is up.
    pub fn controller_id(&self) -> i32 {
        self.brokers
            .read()
            .iter()
            .find(|b| b.up)
            .map_or(-1, |b| b.node_id)
    }

    /// Caps the versions of `api_key` broker `node_id` serves (below the API's minimum, the
    /// broker stops advertising it); `None` lifts the cap.
    pub fn set_version_cap(&self, node_id: i32, api_key: ApiKey, max: Option<i16>) {
        let mut caps = self.version_caps.write();
        match max {
            Some(max) => caps.insert((node_id, api_key.0), max),
            None => caps.remove(&(node_id, api_key.0)),
        };
    }

    /// The cap on `api_key` for broker `node_id`, if any.
    pub fn version_cap(&self, node_id: i32, api_key: ApiKey) -> Option<i16> {
        self.version_caps.read().get(&(node_id, api_key.0)).copied()
    }

    /// Throttles broker `node_id` by `ms` per response (0 lifts it).
    pub fn set_throttle(&self, node_id: i32, ms: i32) {
        let mut throttles = self.throttles.write();
        if ms > 0 {
            throttles.insert(node_id, ms);
        } else {
            throttles.remove(&node_id);
        }
    }

    /// The throttle of broker `node_id`, in milliseconds (0 when none).
    pub fn throttle(&self, node_id: i32) -> i32 {
        self.throttles.read().get(&node_id).copied().unwrap_or(0)
    }

    /// Marks a broker up or down.
    pub fn set_broker_up(&self, node_id: i32, up: bool) {
        if let Some(b) = self
            .brokers
            .write()
            .iter_mut()
            .find(|b| b.node_id == node_id)
        {
            b.up = up;
        }
    }

    /// Whether a broker is up.
    pub fn broker_is_up(&self, node_id: i32) -> bool {
        self.brokers
            .read()
            .iter()
            .any(|b| b.node_id == node_id && b.up)
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: Uuid) -> Option<(String, Arc<Topic>)> {
        self.topics
            .read()
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(n, t)| (n.clone(), t.clone()))
    }

    /// Every topic, by name.
    pub fn topics(&self) -> Vec<(String, Arc<Topic>)> {
        self.topics
            .read()
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect()
    }

    /// Creates a topic with its partitions' leaders spread over the brokers round-robin.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<Arc<Topic>, ErrorCode> {
        self.create_topic_with(name, partitions, BTreeMap::new())
    }

    /// [`ClusterState::create_topic`] with config overrides.
    pub fn create_topic_with(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<Topic>, ErrorCode> {
        if name.is_empty() || name.len() > 249 || !name.chars().all(valid_topic_char) {
            return Err(ErrorCode::INVALID_TOPIC_EXCEPTION);
        }
        if partitions <= 0 {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        let brokers: Vec<i32> = self.brokers.read().iter().map(|b| b.node_id).collect();
        if brokers.is_empty() {
            return Err(ErrorCode::BROKER_NOT_AVAILABLE);
        }
        let mut topics = self.topics.write();
        if topics.contains_key(name) {
            return Err(ErrorCode::TOPIC_ALREADY_EXISTS);
        }
        let id = Uuid::from_u128(
            0x6b72_6166_6b61_0000_0000_0000_0000_0000
                | u128::from(self.next_topic_id.fetch_add(1, Ordering::Relaxed)),
        );
        let partitions = (0..partitions)
            .map(|p| {
                let leader = brokers
                    .get(p as usize % brokers.len())
                    .copied()
                    .unwrap_or(-1);
                Arc::new(Partition::new(leader))
            })
            .collect();
        let topic = Arc::new(Topic {
            id,
            partitions,
            configs,
        });
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    /// Deletes a topic; later requests for it see an unknown topic.
    pub fn delete_topic(&self, name: &str) -> Result<Uuid, ErrorCode> {
        self.topics
            .write()
            .remove(name)
            .map(|t| t.id)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
    }

    /// Grows a topic to `count` partitions, new leaders continuing the round-robin.
    pub fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), ErrorCode> {
        let brokers: Vec<i32> = self.brokers.read().iter().map(|b| b.node_id).collect();
        let mut topics = self.topics.write();
        let topic = topics
            .get(name)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)?;
        let current = topic.partitions.len();
        let wanted = usize::try_from(count).map_err(|_| ErrorCode::INVALID_PARTITIONS)?;
        if wanted <= current {
            return Err(ErrorCode::INVALID_PARTITIONS);
        }
        if validate_only || brokers.is_empty() {
            return if brokers.is_empty() {
                Err(ErrorCode::BROKER_NOT_AVAILABLE)
            } else {
                Ok(())
            };
        }
        let mut partitions = topic.partitions.clone();
        for p in current..wanted {
            let leader = brokers.get(p % brokers.len()).copied().unwrap_or(-1);
            partitions.push(Arc::new(Partition::new(leader)));
        }
        let grown = Topic {
            id: topic.id,
            partitions,
            configs: topic.configs.clone(),
        };
        topics.insert(name.to_string(), Arc::new(grown));
        Ok(())
    }

    /// A topic, created with the default partition count if unknown and auto-creation is on.
    pub fn topic_or_create(&self, name: &str) -> Option<Arc<Topic>> {
        if let Some(topic) = self.topic(name) {
            return Some(topic);
        }
        if !self.auto_create_topics {
            return None;
        }
        match self.create_topic(name, self.default_partitions) {
            Ok(topic) => Some(topic),
            // Another connection created it first.
            Err(_) => self.topic(name),
        }
    }
}

/// Kafka's legal topic name characters.
fn valid_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}
