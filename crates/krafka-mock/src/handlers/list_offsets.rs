//! ListOffsets, v1-9: earliest (-2), latest (-1), max timestamp (-3, v7+), earliest local (-4)
//! and latest tiered (-5) as a broker without tiered storage answers them, and by timestamp
//! (the first record that reaches it), answered by the partition's leader only.

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::ListOffsetsRequest;
use krafka_protocol::messages::ListOffsetsResponse;
use krafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};

use super::context::BrokerContext;

/// Answers a ListOffsets request.
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &ListOffsetsRequest,
) -> ListOffsetsResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let topic = ctx.state.topic(&t.name);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let partition = topic
                        .as_ref()
                        .and_then(|t| t.partitions.get(p.partition_index as usize));
                    let mut response = ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
                        ..Default::default()
                    };
                    match partition {
                        None => response.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0,
                        Some(part) if part.leader() != ctx.node_id => {
                            response.error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.0;
                        }
                        Some(part) => {
                            let (timestamp, offset) = part.log.lock().offset_for(p.timestamp);
                            response.timestamp = timestamp;
                            response.offset = offset;
                            if version >= 4 {
                                response.leader_epoch = part.leader_epoch();
                            }
                        }
                    }
                    response
                })
                .collect();
            ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions,
                ..Default::default()
            }
        })
        .collect();
    ListOffsetsResponse {
        topics,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::LIST_OFFSETS, 1, 9);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::ListOffsetsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::ListOffsetsResponse {
    let e = code.0;
    krafka_protocol::messages::ListOffsetsResponse {
        topics: request
            .topics
            .iter()
            .map(|t| krafka_protocol::messages::list_offsets_response::ListOffsetsTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| krafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
                        error_code: e,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
