//! OffsetCommit v2-9 and OffsetFetch v1-9 (v8+ for several groups at once), answered by the
//! group's coordinator only (NOT_COORDINATOR elsewhere). A commit is either simple (generation
//! -1, for consumers outside any group) or from a current member of the group's current
//! generation (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS otherwise).

use krafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use krafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use krafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::{BrokerContext, is_coordinator};
use crate::groups::Committed;

/// Committed offsets of one topic: (partition, committed or `None` when never committed).
type TopicOffsets = (StrBytes, Vec<(i32, Option<Committed>)>);

/// Answers an OffsetCommit request.
pub fn commit(ctx: &BrokerContext, request: &OffsetCommitRequest) -> OffsetCommitResponse {
    let group = request.group_id.as_str();
    let refusal = if !is_coordinator(ctx, group) {
        Some(ErrorCode::NOT_COORDINATOR)
    } else if request.generation_id_or_member_epoch >= 0 {
        // A commit from a generation must come from a current member of it.
        ctx.state
            .memberships
            .with(group, |g| {
                g.may_commit(&request.member_id, request.generation_id_or_member_epoch)
            })
            .err()
    } else {
        None
    };
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let topic = ctx.state.topic(&t.name);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let exists = topic.as_ref().is_some_and(|tp| {
                        (0..tp.partitions.len() as i32).contains(&p.partition_index)
                    });
                    let error = match refusal {
                        Some(e) => e,
                        None if !exists => ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                        None => {
                            ctx.state.groups.commit(
                                group,
                                &t.name,
                                p.partition_index,
                                Committed {
                                    offset: p.committed_offset,
                                    leader_epoch: p.committed_leader_epoch,
                                    metadata: p
                                        .committed_metadata
                                        .as_deref()
                                        .unwrap_or_default()
                                        .to_string(),
                                },
                            );
                            ErrorCode::NONE
                        }
                    };
                    OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code: error.0,
                        ..Default::default()
                    }
                })
                .collect();
            OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            }
        })
        .collect();
    OffsetCommitResponse {
        topics,
        ..Default::default()
    }
}

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
pub fn fetch(
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
