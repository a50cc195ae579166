//! Consumer-group administration for [`Admin`]: list the cluster's groups (ListGroups to every
//! broker, each lists the groups it coordinates), describe a group's members and their
//! partitions (DescribeGroups at its coordinator), and its committed offsets and lag
//! (OffsetFetch at its coordinator, end offsets by ListOffsets per leader).

use std::collections::BTreeMap;

use krafka_net::{BrokerConnection, NetError};
use krafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use krafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use krafka_protocol::messages::{
    DescribeGroupsRequest, FindCoordinatorRequest, ListGroupsRequest, ListOffsetsRequest,
    OffsetFetchRequest,
};
use krafka_protocol::{ApiKey, DecodeError, ErrorCode, StrBytes};

use crate::admin::{Admin, AdminError};

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// Its id.
    pub group: String,
    /// Its protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// Its state (`Stable`, `Empty`, …; empty from brokers before ListGroups v4).
    pub state: String,
}

/// A group as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Its id.
    pub group: String,
    /// Its state: `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty` (no members;
    /// perhaps committed offsets), or `Dead` (the coordinator knows nothing of it).
    pub state: String,
    /// Its protocol type (`consumer` for consumer groups).
    pub protocol_type: String,
    /// The assignor its members chose (`range`, `cooperative-sticky`, …); empty unless Stable.
    pub assignor: String,
    /// Its members, by id.
    pub members: Vec<GroupMember>,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id`, for a static member.
    pub instance_id: Option<String>,
    /// Its `client.id`.
    pub client_id: String,
    /// The address it joined from, as the broker saw it.
    pub host: String,
    /// Its partitions, by topic, sorted. Empty while the group rebalances and for groups
    /// whose protocol type is not `consumer`.
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// One partition of a group: where it is committed and how far behind the log's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset (the next record the group will read).
    pub committed: i64,
    /// The log's end (high watermark); `None` if the leader could not say.
    pub end: Option<i64>,
    /// `end - committed`, never negative.
    pub lag: Option<i64>,
}

fn refused(group: &str, code: i16) -> Result<(), AdminError> {
    let code = ErrorCode(code);
    if code.is_ok() {
        return Ok(());
    }
    Err(AdminError::Group {
        group: group.to_owned(),
        code,
    })
}

/// A consumer-protocol assignment (a version, then `ConsumerProtocolAssignment`) as sorted
/// partitions by topic. Empty bytes are an empty assignment.
fn decode_assignment(bytes: &bytes::Bytes) -> Result<Vec<(String, Vec<i32>)>, DecodeError> {
    let assignment = krafka_protocol::consumer_protocol::decode_assignment(bytes)?;
    let pairs = assignment
        .assigned_partitions
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.topic.as_str(), *p)));
    let mut topics: Vec<(String, Vec<i32>)> =
        krafka_protocol::grouping::by_topic(pairs, |(t, _)| *t, |(_, p)| p)
            .into_iter()
            .map(|(topic, mut partitions)| {
                partitions.sort_unstable();
                partitions.dedup();
                (topic.to_owned(), partitions)
            })
            .collect();
    topics.sort();
    Ok(topics)
}

impl Admin {
    /// Every group on the cluster, sorted by id. Cancel-safe.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>, AdminError> {
        let snapshot = self.metadata().refresh().await?;
        let mut found = BTreeMap::new();
        for id in snapshot.brokers.keys() {
            let conn = self.metadata().pool().get_connection_by_id(*id).await?;
            let response = conn.send_negotiated(&ListGroupsRequest::default()).await?;
            refused("(groups)", response.error_code)?;
            for g in response.groups {
                found.insert(
                    g.group_id.to_string(),
                    GroupListing {
                        group: g.group_id.to_string(),
                        protocol_type: g.protocol_type.to_string(),
                        state: g.group_state.to_string(),
                    },
                );
            }
        }
        Ok(found.into_values().collect())
    }

    /// `group`'s state, assignor and members with their partitions. Cancel-safe.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription, AdminError> {
        let coordinator = self.coordinator(group).await?;
        let request = DescribeGroupsRequest {
            groups: vec![StrBytes::from_string(group.to_owned())],
            ..Default::default()
        };
        let response = coordinator.send_negotiated(&request).await?;
        let described = response
            .groups
            .into_iter()
            .find(|g| g.group_id.as_str() == group)
            .ok_or_else(|| AdminError::Group {
                group: group.to_owned(),
                code: ErrorCode::GROUP_ID_NOT_FOUND,
            })?;
        refused(group, described.error_code)?;
        let consumer = described.protocol_type.as_str() == "consumer";
        let members = described
            .members
            .into_iter()
            .map(|m| {
                let assignment = if consumer {
                    decode_assignment(&m.member_assignment).map_err(|error| {
                        AdminError::Malformed {
                            what: format!("group {group}: assignment of {}", m.member_id),
                            error,
                        }
                    })?
                } else {
                    Vec::new()
                };
                Ok(GroupMember {
                    member_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment,
                })
            })
            .collect::<Result<Vec<_>, AdminError>>()?;
        Ok(GroupDescription {
            group: group.to_owned(),
            state: described.group_state.to_string(),
            protocol_type: described.protocol_type.to_string(),
            assignor: described.protocol_data.to_string(),
            members,
        })
    }

    /// `group`'s committed offsets and each partition's lag behind the log's end. Cancel-safe.
    pub async fn group_lag(&self, group: &str) -> Result<Vec<PartitionLag>, AdminError> {
        let committed = self.group_offsets(group).await?;
        let snapshot = self.metadata().snapshot();
        // End offsets: one ListOffsets per leader.
        let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
        self.metadata()
            .add_topics(committed.iter().map(|(t, _, _)| t.clone()));
        let snapshot = if committed
            .iter()
            .all(|(t, p, _)| snapshot.leader(t, *p).is_some())
        {
            snapshot
        } else {
            self.metadata().refresh().await?
        };
        for (topic, partition, _) in &committed {
            if let Some(leader) = snapshot.leader(topic, *partition) {
                by_leader
                    .entry(leader.broker)
                    .or_default()
                    .push((topic.clone(), *partition));
            }
        }
        let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for (leader, partitions) in by_leader {
            let topics =
                krafka_protocol::grouping::by_topic(partitions, |(t, _)| t.clone(), |(_, p)| p);
            let request = ListOffsetsRequest {
                replica_id: -1,
                topics: topics
                    .into_iter()
                    .map(|(name, ps)| ListOffsetsTopic {
                        name: StrBytes::from_string(name),
                        partitions: ps
                            .into_iter()
                            .map(|p| ListOffsetsPartition {
                                partition_index: p,
                                current_leader_epoch: -1,
                                timestamp: -1,
                                max_num_offsets: 1,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let conn = self.metadata().pool().get_connection_by_id(leader).await?;
            let response = conn.send_negotiated(&request).await?;
            for t in &response.topics {
                for p in &t.partitions {
                    if p.error_code == 0 && p.offset >= 0 {
                        ends.insert((t.name.to_string(), p.partition_index), p.offset);
                    }
                }
            }
        }
        Ok(committed
            .into_iter()
            .map(|(topic, partition, committed)| {
                let end = ends.get(&(topic.clone(), partition)).copied();
                PartitionLag {
                    lag: end.map(|e| (e - committed).max(0)),
                    topic,
                    partition,
                    committed,
                    end,
                }
            })
            .collect())
    }

    /// A connection to `group`'s coordinator (FindCoordinator at any broker).
    async fn coordinator(&self, group: &str) -> Result<BrokerConnection, AdminError> {
        let snapshot = self.metadata().refresh().await?;
        let any = snapshot
            .brokers
            .keys()
            .min()
            .copied()
            .ok_or(AdminError::Network(NetError::NoBrokerAvailable {
                last_error: None,
            }))?;
        let conn = self.metadata().pool().get_connection_by_id(any).await?;
        let v = conn.version_in(ApiKey::FIND_COORDINATOR, 0..=i16::MAX)?;
        let mut find = FindCoordinatorRequest::default();
        if v >= 4 {
            find.coordinator_keys = vec![StrBytes::from_string(group.to_owned())];
        } else {
            find.key = StrBytes::from_string(group.to_owned());
        }
        let found = conn.send(&find, v).await?;
        let (code, node) = if v >= 4 {
            found
                .coordinators
                .first()
                .map_or((ErrorCode::COORDINATOR_NOT_AVAILABLE.0, -1), |c| {
                    (c.error_code, c.node_id)
                })
        } else {
            (found.error_code, found.node_id)
        };
        refused(group, code)?;
        Ok(self.metadata().pool().get_connection_by_id(node).await?)
    }

    /// Every partition `group` has committed: (topic, partition, offset), sorted.
    async fn group_offsets(&self, group: &str) -> Result<Vec<(String, i32, i64)>, AdminError> {
        let coordinator = self.coordinator(group).await?;
        let v = coordinator.version_in(ApiKey::OFFSET_FETCH, 1..=i16::MAX)?;
        let mut request = OffsetFetchRequest::default();
        if v >= 8 {
            request.groups = vec![OffsetFetchRequestGroup {
                group_id: StrBytes::from_string(group.to_owned()),
                topics: None,
                ..Default::default()
            }];
        } else {
            request.group_id = StrBytes::from_string(group.to_owned());
            request.topics = None;
        }
        let response = coordinator.send(&request, v).await?;
        let mut out = Vec::new();
        if v >= 8 {
            for g in &response.groups {
                refused(group, g.error_code)?;
                for t in &g.topics {
                    for p in &t.partitions {
                        if p.error_code == 0 && p.committed_offset >= 0 {
                            out.push((t.name.to_string(), p.partition_index, p.committed_offset));
                        }
                    }
                }
            }
        } else {
            refused(group, response.error_code)?;
            for t in &response.topics {
                for p in &t.partitions {
                    if p.error_code == 0 && p.committed_offset >= 0 {
                        out.push((t.name.to_string(), p.partition_index, p.committed_offset));
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
