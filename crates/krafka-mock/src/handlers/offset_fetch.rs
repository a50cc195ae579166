//! OffsetFetch v1-9 (v8+ for several groups at once), answered by the group's coordinator
//! only (NOT_COORDINATOR elsewhere).

use krafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use krafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::{BrokerContext, is_coordinator};
use crate::groups::Committed;

/// Committed offsets of one topic: (partition, committed or `None` when never committed).
type TopicOffsets = (StrBytes, Vec<(i32, Option<Committed>)>);

/// The committed offsets of `group` for the requested partitions (all when `None`), as
/// (topic, [(partition, committed)]), with -1 for partitions never committed.
fn lookup(
    ctx: &BrokerContext,
    group: &str,
    wanted: Option<Vec<(StrBytes, Vec<i32>)>>,
) -> Vec<TopicOffsets> {
    match wanted {
        Some(topics) => topics
            .into_iter()
            .map(|(name, partitions)| {
                let found = partitions
                    .into_iter()
                    .map(|p| (p, ctx.state.groups.committed(group, &name, p)))
                    .collect();
                (name, found)
            })
            .collect(),
        None => {
            let mut out: Vec<TopicOffsets> = Vec::new();
            for (topic, partition, committed) in ctx.state.groups.all_committed(group) {
                match out.iter_mut().find(|(t, _)| t.as_str() == topic) {
                    Some((_, list)) => list.push((partition, Some(committed))),
                    None => out.push((
                        StrBytes::from_string(topic),
                        vec![(partition, Some(committed))],
                    )),
                }
            }
            out
        }
    }
}

/// Answers an OffsetFetch request.
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &OffsetFetchRequest,
) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                if !is_coordinator(ctx, &g.group_id) {
                    return OffsetFetchResponseGroup {
                        group_id: g.group_id.clone(),
                        error_code: ErrorCode::NOT_COORDINATOR.0,
                        ..Default::default()
                    };
                }
                let wanted = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.clone(), t.partition_indexes.clone()))
                        .collect()
                });
                let topics = lookup(ctx, &g.group_id, wanted)
                    .into_iter()
                    .map(|(name, partitions)| OffsetFetchResponseTopics {
                        name,
                        partitions: partitions
                            .into_iter()
                            .map(|(index, c)| OffsetFetchResponsePartitions {
                                partition_index: index,
                                committed_offset: c.as_ref().map_or(-1, |c| c.offset),
                                committed_leader_epoch: c.as_ref().map_or(-1, |c| c.leader_epoch),
                                metadata: Some(StrBytes::from_string(
                                    c.map(|c| c.metadata).unwrap_or_default(),
                                )),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect();
                OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    topics,
                    ..Default::default()
                }
            })
            .collect();
        return OffsetFetchResponse {
            groups,
            ..Default::default()
        };
    }
    if !is_coordinator(ctx, &request.group_id) {
        return OffsetFetchResponse {
            error_code: ErrorCode::NOT_COORDINATOR.0,
            ..Default::default()
        };
    }
    let wanted = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.clone(), t.partition_indexes.clone()))
            .collect()
    });
    let topics = lookup(ctx, &request.group_id, wanted)
        .into_iter()
        .map(|(name, partitions)| OffsetFetchResponseTopic {
            name,
            partitions: partitions
                .into_iter()
                .map(|(index, c)| OffsetFetchResponsePartition {
                    partition_index: index,
                    committed_offset: c.as_ref().map_or(-1, |c| c.offset),
                    committed_leader_epoch: if version >= 5 {
                        c.as_ref().map_or(-1, |c| c.leader_epoch)
                    } else {
                        -1
                    },
                    metadata: Some(StrBytes::from_string(
                        c.map(|c| c.metadata).unwrap_or_default(),
                    )),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    OffsetFetchResponse {
        topics,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::OFFSET_FETCH, 1, 9);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::OffsetFetchRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::OffsetFetchResponse {
    let e = code.0;
    krafka_protocol::messages::OffsetFetchResponse {
        error_code: e,
        groups: request
            .groups
            .iter()
            .map(
                |g| krafka_protocol::messages::offset_fetch_response::OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    error_code: e,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
