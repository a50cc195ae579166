//! `MetadataSnapshot`: one immutable picture of the cluster, built from a Metadata response.
//! Readers hold an `Arc` to it for as long as they like; a refresh builds a new one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use krafka_protocol::messages::MetadataResponse;
use krafka_protocol::{ErrorCode, Uuid};

/// A broker as metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Its node id.
    pub id: i32,
    /// Its advertised host.
    pub host: String,
    /// Its advertised port.
    pub port: i32,
    /// Its rack, if configured.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`, as the pool dials it.
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Its index.
    pub partition: i32,
    /// The leader's node id, or -1 while there is none.
    pub leader: i32,
    /// The leader epoch (-1 from brokers too old to report it).
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Offline replica node ids.
    pub offline_replicas: Vec<i32>,
    /// The partition's error (LEADER_NOT_AVAILABLE while electing, …).
    pub error: ErrorCode,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Its name.
    pub name: Arc<str>,
    /// Its id (zero from brokers before Kafka 2.8).
    pub topic_id: Uuid,
    /// Whether it is internal (`__consumer_offsets`, …).
    pub is_internal: bool,
    /// The topic-level error (UNKNOWN_TOPIC_OR_PARTITION, …).
    pub error: ErrorCode,
    /// Its partitions, indexed by partition number.
    pub partitions: Vec<PartitionInfo>,
}

/// The leader of a partition, resolved to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeader {
    /// The leader's node id.
    pub broker: i32,
    /// Its address.
    pub addr: String,
    /// The leader epoch.
    pub epoch: i32,
}

/// The cluster as one Metadata response described it.
#[derive(Debug, Clone)]
pub struct MetadataSnapshot {
    /// Brokers by node id.
    pub brokers: HashMap<i32, BrokerInfo>,
    /// The controller's node id (-1 if unknown).
    pub controller_id: i32,
    /// The cluster id.
    pub cluster_id: Option<String>,
    /// Topics by name.
    pub topics: HashMap<Arc<str>, TopicInfo>,
    /// When the response arrived.
    pub fetched_at: Instant,
    /// Counts refreshes: 0 for the empty snapshot before the first one.
    pub generation: u64,
}

impl MetadataSnapshot {
    /// The snapshot before any refresh: nothing known.
    pub fn empty() -> Self {
        Self {
            brokers: HashMap::new(),
            controller_id: -1,
            cluster_id: None,
            topics: HashMap::new(),
            fetched_at: Instant::now(),
            generation: 0,
        }
    }

    /// Builds a snapshot from a response. Topics without a name (a v10+ broker answering a
    /// request by id) are skipped; partitions are indexed by their number, and a response that
    /// lists a partition number out of range or twice is not trusted for that topic.
    pub fn from_response(response: &MetadataResponse, generation: u64) -> Self {
        let brokers = response
            .brokers
            .iter()
            .map(|b| {
                (
                    b.node_id,
                    BrokerInfo {
                        id: b.node_id,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_deref().map(str::to_owned),
                    },
                )
            })
            .collect();
        let mut topics = HashMap::new();
        for t in &response.topics {
            let Some(name) = t.name.as_deref() else {
                continue;
            };
            let mut partitions: Vec<Option<PartitionInfo>> = vec![None; t.partitions.len()];
            let mut consistent = true;
            for p in &t.partitions {
                let slot = usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| partitions.get_mut(i));
                match slot {
                    Some(slot @ None) => {
                        *slot = Some(PartitionInfo {
                            partition: p.partition_index,
                            leader: p.leader_id,
                            leader_epoch: p.leader_epoch,
                            replicas: p.replica_nodes.clone(),
                            isr: p.isr_nodes.clone(),
                            offline_replicas: p.offline_replicas.clone(),
                            error: ErrorCode(p.error_code),
                        })
                    }
                    _ => consistent = false,
                }
            }
            let partitions: Vec<PartitionInfo> = partitions.into_iter().flatten().collect();
            let error = if consistent {
                ErrorCode(t.error_code)
            } else {
                tracing::warn!(topic = name, "metadata lists partitions inconsistently");
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            };
            let name: Arc<str> = name.into();
            topics.insert(
                name.clone(),
                TopicInfo {
                    name,
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    error,
                    partitions: if consistent { partitions } else { Vec::new() },
                },
            );
        }
        Self {
            brokers,
            controller_id: response.controller_id,
            cluster_id: response.cluster_id.as_deref().map(str::to_owned),
            topics,
            fetched_at: Instant::now(),
            generation,
        }
    }

    /// A topic, by name.
    pub fn topic(&self, name: &str) -> Option<&TopicInfo> {
        self.topics.get(name)
    }

    /// A partition, by topic and number.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionInfo> {
        let index = usize::try_from(partition).ok()?;
        self.topic(topic)?.partitions.get(index)
    }

    /// The leader of a partition with its address, if it has one that metadata lists.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<PartitionLeader> {
        let p = self.partition(topic, partition)?;
        let broker = self.brokers.get(&p.leader)?;
        Some(PartitionLeader {
            broker: broker.id,
            addr: broker.addr(),
            epoch: p.leader_epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krafka_protocol::StrBytes;
    use krafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    fn partition(index: i32, leader: i32) -> MetadataResponsePartition {
        MetadataResponsePartition {
            partition_index: index,
            leader_id: leader,
            leader_epoch: 7,
            ..Default::default()
        }
    }

    #[test]
    fn builds_brokers_topics_and_leaders() {
        let response = MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: 2,
                host: StrBytes::from_static_str("127.0.0.1"),
                port: 9092,
                ..Default::default()
            }],
            controller_id: 2,
            topics: vec![
                MetadataResponseTopic {
                    name: Some(StrBytes::from_static_str("t")),
                    partitions: vec![partition(1, 2), partition(0, 3)],
                    ..Default::default()
                },
                MetadataResponseTopic {
                    name: Some(StrBytes::from_static_str("bad")),
                    partitions: vec![partition(0, 2), partition(0, 2)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let s = MetadataSnapshot::from_response(&response, 1);
        let leader = s.leader("t", 1).unwrap();
        assert_eq!(
            (leader.broker, leader.addr.as_str(), leader.epoch),
            (2, "127.0.0.1:9092", 7)
        );
        assert_eq!(s.partition("t", 0).unwrap().leader, 3);
        assert_eq!(s.leader("t", 0), None, "broker 3 is not listed");
        assert_eq!(s.leader("t", 2), None);
        assert_eq!(s.leader("t", -1), None);
        let bad = s.topic("bad").unwrap();
        assert_eq!(bad.error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        assert!(bad.partitions.is_empty());
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let b = BrokerInfo {
            id: 1,
            host: "::1".into(),
            port: 9092,
            rack: None,
        };
        assert_eq!(b.addr(), "[::1]:9092");
    }
}
