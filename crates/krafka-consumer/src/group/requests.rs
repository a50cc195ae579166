//! The group coordinator's requests, each built for the version the broker negotiated (fields a
//! version cannot carry are left at their defaults, so encoding never refuses them) and read
//! back into what the coordinator task acts on. No state lives here.
//!
//! Versions: FindCoordinator v0–6 (v4+ batches keys), JoinGroup v0–9 (v4+ asks a new member to
//! rejoin with an id, v5+ static membership), SyncGroup v0–5, Heartbeat v0–4, LeaveGroup v0–5
//! (v3+ by member list), OffsetCommit v2–9, OffsetFetch v1–9 (v8+ by group list).

use std::collections::HashMap;
use std::time::Duration;

use krafka_net::{BrokerConnection, ClusterMetadata, NetError};
use krafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use krafka_protocol::messages::leave_group_request::MemberIdentity;
use krafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use krafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use krafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use krafka_protocol::messages::{
    FindCoordinatorRequest, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
    OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest,
};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

use super::member::messages::{Identity, JoinAnswer, JoinedMember};
use crate::record::TopicPartition;

/// The version of `api` to build for, within what this module builds (see above).
fn version(conn: &BrokerConnection, api: ApiKey) -> Result<i16, NetError> {
    let speaks = match api {
        ApiKey::FIND_COORDINATOR => 0..=6,
        ApiKey::JOIN_GROUP => 0..=9,
        ApiKey::SYNC_GROUP => 0..=5,
        ApiKey::HEARTBEAT => 0..=4,
        ApiKey::LEAVE_GROUP => 0..=5,
        ApiKey::OFFSET_COMMIT => 2..=9,
        ApiKey::OFFSET_FETCH => 1..=9,
        _ => 0..=i16::MAX,
    };
    conn.version_in(api, speaks)
}

/// Where the group's coordinator is: its node id and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CoordinatorAddr {
    pub node: i32,
    pub addr: String,
}

/// Asks any known broker for `group`'s coordinator. `Ok(Err(code))` is the broker's refusal
/// (COORDINATOR_NOT_AVAILABLE while the offsets topic is being created, …).
pub(crate) async fn find_coordinator(
    metadata: &ClusterMetadata,
    group: &str,
    seed: usize,
) -> Result<Result<CoordinatorAddr, ErrorCode>, NetError> {
    let snapshot = metadata.snapshot();
    let mut nodes: Vec<i32> = snapshot.brokers.keys().copied().collect();
    if nodes.is_empty() {
        let snapshot = metadata.refresh().await?;
        nodes = snapshot.brokers.keys().copied().collect();
    }
    nodes.sort_unstable();
    let Some(&node) = nodes.get(seed % nodes.len().max(1)) else {
        return Ok(Err(ErrorCode::COORDINATOR_NOT_AVAILABLE));
    };
    let conn = metadata.pool().get_connection_by_id(node).await?;
    let v = version(&conn, ApiKey::FIND_COORDINATOR)?;
    let mut request = FindCoordinatorRequest::default();
    if v >= 4 {
        request.coordinator_keys = vec![StrBytes::from(group)];
    } else {
        request.key = StrBytes::from(group);
    }
    let response = conn.send(&request, v).await?;
    let (code, node_id, host, port) = if v >= 4 {
        match response.coordinators.into_iter().find(|c| c.key == *group) {
            Some(c) => (c.error_code, c.node_id, c.host, c.port),
            None => (
                ErrorCode::COORDINATOR_NOT_AVAILABLE.0,
                -1,
                StrBytes::new(),
                0,
            ),
        }
    } else {
        (
            response.error_code,
            response.node_id,
            response.host,
            response.port,
        )
    };
    let code = ErrorCode::from(code);
    if code != ErrorCode::NONE {
        return Ok(Err(code));
    }
    if node_id < 0 || !(1..=65535).contains(&port) {
        return Ok(Err(ErrorCode::COORDINATOR_NOT_AVAILABLE));
    }
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(Ok(CoordinatorAddr {
        node: node_id,
        addr,
    }))
}

/// What a JoinGroup says.
pub(crate) struct JoinArgs<'a> {
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    /// (assignor name, subscription bytes), in preference order.
    pub protocols: Vec<(&'static str, bytes::Bytes)>,
    pub reason: &'a str,
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// Sends a JoinGroup; the answer comes when the rebalance completes.
pub(crate) async fn join(
    conn: &BrokerConnection,
    member: &Identity,
    args: JoinArgs<'_>,
) -> Result<JoinAnswer, NetError> {
    let v = version(conn, ApiKey::JOIN_GROUP)?;
    let request = JoinGroupRequest {
        group_id: member.group.clone(),
        session_timeout_ms: millis(args.session_timeout),
        rebalance_timeout_ms: if v >= 1 {
            millis(args.rebalance_timeout)
        } else {
            -1
        },
        member_id: member.member_id.clone(),
        group_instance_id: member.instance_id.clone().filter(|_| v >= 5),
        protocol_type: StrBytes::from_static_str("consumer"),
        protocols: args
            .protocols
            .into_iter()
            .map(|(name, metadata)| JoinGroupRequestProtocol {
                name: StrBytes::from_static_str(name),
                metadata,
                ..Default::default()
            })
            .collect(),
        reason: (v >= 8).then(|| StrBytes::from(args.reason)),
        ..Default::default()
    };
    let response = conn.send(&request, v).await?;
    Ok(JoinAnswer {
        error: ErrorCode::from(response.error_code),
        member_id: response.member_id,
        generation: response.generation_id,
        protocol_name: response.protocol_name,
        leader: response.leader,
        members: response
            .members
            .into_iter()
            .map(|m| JoinedMember {
                member_id: m.member_id,
                instance_id: m.group_instance_id,
                metadata: m.metadata,
            })
            .collect(),
    })
}

/// Sends a SyncGroup (the leader's carries every member's assignment); returns the error code
/// and this member's assignment bytes.
pub(crate) async fn sync(
    conn: &BrokerConnection,
    member: &Identity,
    protocol: &'static str,
    assignments: Vec<(String, bytes::Bytes)>,
) -> Result<(ErrorCode, bytes::Bytes), NetError> {
    let v = version(conn, ApiKey::SYNC_GROUP)?;
    let request = SyncGroupRequest {
        group_id: member.group.clone(),
        generation_id: member.generation,
        member_id: member.member_id.clone(),
        group_instance_id: member.instance_id.clone().filter(|_| v >= 3),
        protocol_type: (v >= 5).then(|| StrBytes::from_static_str("consumer")),
        protocol_name: (v >= 5).then(|| StrBytes::from_static_str(protocol)),
        assignments: assignments
            .into_iter()
            .map(|(member_id, assignment)| SyncGroupRequestAssignment {
                member_id: StrBytes::from_string(member_id),
                assignment,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let response = conn.send(&request, v).await?;
    Ok((ErrorCode::from(response.error_code), response.assignment))
}

/// Sends a Heartbeat.
pub(crate) async fn heartbeat(
    conn: &BrokerConnection,
    member: &Identity,
) -> Result<ErrorCode, NetError> {
    let v = version(conn, ApiKey::HEARTBEAT)?;
    let request = HeartbeatRequest {
        group_id: member.group.clone(),
        generation_id: member.generation,
        member_id: member.member_id.clone(),
        group_instance_id: member.instance_id.clone().filter(|_| v >= 3),
        ..Default::default()
    };
    Ok(ErrorCode::from(conn.send(&request, v).await?.error_code))
}

/// Leaves the group (by member id; a static member leaves by instance id as well).
pub(crate) async fn leave(
    conn: &BrokerConnection,
    member: &Identity,
    reason: &str,
) -> Result<ErrorCode, NetError> {
    let v = version(conn, ApiKey::LEAVE_GROUP)?;
    let mut request = LeaveGroupRequest {
        group_id: member.group.clone(),
        ..Default::default()
    };
    if v >= 3 {
        request.members = vec![MemberIdentity {
            member_id: member.member_id.clone(),
            group_instance_id: member.instance_id.clone(),
            reason: (v >= 5).then(|| StrBytes::from(reason)),
            ..Default::default()
        }];
    } else {
        request.member_id = member.member_id.clone();
    }
    let response = conn.send(&request, v).await?;
    let code = ErrorCode::from(response.error_code);
    if code != ErrorCode::NONE {
        return Ok(code);
    }
    Ok(response
        .members
        .first()
        .map_or(ErrorCode::NONE, |m| ErrorCode::from(m.error_code)))
}

/// Groups partitions by topic, keeping first-seen order.
fn by_topic<T>(items: &[(TopicPartition, T)]) -> Vec<(StrBytes, Vec<(i32, &T)>)> {
    krafka_protocol::grouping::by_topic(items, |(tp, _)| &*tp.topic, |(tp, v)| (tp.partition, v))
        .into_iter()
        .map(|(topic, entries)| (StrBytes::from(topic), entries))
        .collect()
}

/// Commits `offsets`; returns each partition's error code (NONE when committed). A member
/// outside any generation (manual assignment) commits as a simple consumer: generation -1.
pub(crate) async fn commit(
    conn: &BrokerConnection,
    member: &Identity,
    offsets: &[(TopicPartition, i64)],
) -> Result<Vec<(TopicPartition, ErrorCode)>, NetError> {
    let v = version(conn, ApiKey::OFFSET_COMMIT)?;
    let in_generation = member.generation >= 0;
    let request = OffsetCommitRequest {
        group_id: member.group.clone(),
        generation_id_or_member_epoch: member.generation,
        member_id: if in_generation {
            member.member_id.clone()
        } else {
            StrBytes::new()
        },
        group_instance_id: member
            .instance_id
            .clone()
            .filter(|_| v >= 7 && in_generation),
        topics: by_topic(offsets)
            .into_iter()
            .map(|(name, partitions)| OffsetCommitRequestTopic {
                name,
                partitions: partitions
                    .into_iter()
                    .map(|(partition_index, offset)| OffsetCommitRequestPartition {
                        partition_index,
                        committed_offset: *offset,
                        committed_metadata: Some(StrBytes::new()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let response = conn.send(&request, v).await?;
    let mut out = Vec::with_capacity(offsets.len());
    for (tp, _) in offsets {
        let code = response
            .topics
            .iter()
            .filter(|t| *t.name == *tp.topic)
            .flat_map(|t| &t.partitions)
            .find(|p| p.partition_index == tp.partition)
            .map_or(ErrorCode::UNKNOWN_SERVER_ERROR, |p| {
                ErrorCode::from(p.error_code)
            });
        out.push((tp.clone(), code));
    }
    Ok(out)
}

/// The committed offsets of `partitions` (`None` where nothing is committed), or the first
/// error the broker gave (for the group or any partition).
pub(crate) async fn fetch_committed(
    conn: &BrokerConnection,
    member: &Identity,
    partitions: &[TopicPartition],
    require_stable: bool,
) -> Result<Result<HashMap<TopicPartition, Option<i64>>, ErrorCode>, NetError> {
    let v = version(conn, ApiKey::OFFSET_FETCH)?;
    let keyed: Vec<(TopicPartition, ())> = partitions.iter().map(|p| (p.clone(), ())).collect();
    let topics = by_topic(&keyed);
    let mut request = OffsetFetchRequest {
        require_stable: require_stable && v >= 7,
        ..Default::default()
    };
    if v >= 8 {
        request.groups = vec![OffsetFetchRequestGroup {
            group_id: member.group.clone(),
            member_id: (v >= 9 && member.generation >= 0).then(|| member.member_id.clone()),
            member_epoch: if v >= 9 { member.generation } else { -1 },
            topics: Some(
                topics
                    .into_iter()
                    .map(|(name, list)| OffsetFetchRequestTopics {
                        name,
                        partition_indexes: list.into_iter().map(|(p, _)| p).collect(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }];
    } else {
        request.group_id = member.group.clone();
        request.topics = Some(
            topics
                .into_iter()
                .map(|(name, list)| OffsetFetchRequestTopic {
                    name,
                    partition_indexes: list.into_iter().map(|(p, _)| p).collect(),
                    ..Default::default()
                })
                .collect(),
        );
    }
    let response = conn.send(&request, v).await?;
    // (topic, partition, offset, error) from either response shape.
    let mut found: Vec<(&str, i32, i64, i16)> = Vec::new();
    let group_error = if v >= 8 {
        let Some(group) = response.groups.iter().find(|g| g.group_id == member.group) else {
            return Ok(Err(ErrorCode::UNKNOWN_SERVER_ERROR));
        };
        for t in &group.topics {
            for p in &t.partitions {
                found.push((&t.name, p.partition_index, p.committed_offset, p.error_code));
            }
        }
        group.error_code
    } else {
        for t in &response.topics {
            for p in &t.partitions {
                found.push((&t.name, p.partition_index, p.committed_offset, p.error_code));
            }
        }
        response.error_code
    };
    if group_error != 0 {
        return Ok(Err(ErrorCode::from(group_error)));
    }
    let mut out = HashMap::with_capacity(partitions.len());
    for tp in partitions {
        let Some(&(_, _, offset, code)) = found
            .iter()
            .find(|(t, p, _, _)| *t == &*tp.topic && *p == tp.partition)
        else {
            return Ok(Err(ErrorCode::UNKNOWN_SERVER_ERROR));
        };
        if code != 0 {
            return Ok(Err(ErrorCode::from(code)));
        }
        out.insert(tp.clone(), (offset >= 0).then_some(offset));
    }
    Ok(Ok(out))
}
