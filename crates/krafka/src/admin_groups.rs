//! Consumer-group administration for [`Admin`]: list the cluster's groups (ListGroups to every
//! broker, each lists the groups it coordinates), and describe a group's committed offsets and
//! lag (OffsetFetch at its coordinator, end offsets by ListOffsets per leader).

use std::collections::BTreeMap;

use krafka_net::NetError;
use krafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use krafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use krafka_protocol::messages::{
    FindCoordinatorRequest, ListGroupsRequest, ListOffsetsRequest, OffsetFetchRequest,
};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

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

fn refused(what: &str, code: i16) -> Result<(), AdminError> {
    let code = ErrorCode(code);
    if code.is_ok() {
        return Ok(());
    }
    Err(AdminError::Broker {
        topic: what.to_owned(),
        code,
        message: None,
    })
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
            let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (t, p) in partitions {
                topics.entry(t).or_default().push(p);
            }
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

    /// Every partition `group` has committed: (topic, partition, offset), sorted.
    async fn group_offsets(&self, group: &str) -> Result<Vec<(String, i32, i64)>, AdminError> {
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
        let v = conn.api_version(ApiKey::FIND_COORDINATOR).unwrap_or(0);
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
        let coordinator = self.metadata().pool().get_connection_by_id(node).await?;
        let v = coordinator.api_version(ApiKey::OFFSET_FETCH).unwrap_or(1);
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
