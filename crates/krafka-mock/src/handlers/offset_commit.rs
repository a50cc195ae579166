//! OffsetCommit v2-9, answered by the group's coordinator only (NOT_COORDINATOR elsewhere). A
//! commit is either simple (generation -1, for consumers outside any group) or from a current
//! member of the group's current generation (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
//! REBALANCE_IN_PROGRESS otherwise).

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use krafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::context::{BrokerContext, is_coordinator};
use crate::groups::Committed;

/// Answers an OffsetCommit request.
pub fn handle(ctx: &BrokerContext, request: &OffsetCommitRequest) -> OffsetCommitResponse {
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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::OFFSET_COMMIT, 2, 9);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::OffsetCommitRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::OffsetCommitResponse {
    let e = code.0;
    krafka_protocol::messages::OffsetCommitResponse {
        topics: request
            .topics
            .iter()
            .map(|t| krafka_protocol::messages::offset_commit_response::OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(
                        |p| krafka_protocol::messages::offset_commit_response::OffsetCommitResponsePartition {
                            partition_index: p.partition_index,
                            error_code: e,
                            ..Default::default()
                        },
                    )
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
