//! Produce, v3-11: validates each partition's record batches (CRC, magic 2) and appends them,
//! stamping offsets; acks=0 gets no response, as from Kafka. Not yet: idempotent sequence
//! checks and transactions (a later step of this crate).

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::ProduceRequest;
use krafka_protocol::messages::ProduceResponse;
use krafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};

use super::context::BrokerContext;

/// Answers a Produce request; `None` for acks=0.
pub fn handle(
    ctx: &BrokerContext,
    _version: i16,
    request: &ProduceRequest,
) -> Option<ProduceResponse> {
    let state = &ctx.state;
    let mut appended_any = false;
    let responses = request
        .topic_data
        .iter()
        .map(|topic_data| {
            let topic = state.topic_or_create(&topic_data.name);
            let partition_responses = topic_data
                .partition_data
                .iter()
                .map(|p| {
                    let partition = topic
                        .as_ref()
                        .and_then(|t| t.partitions.get(p.index as usize));
                    let result = match (partition, &p.records) {
                        (None, _) => Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                        (Some(part), _) if part.leader() != ctx.node_id => {
                            Err(ErrorCode::NOT_LEADER_OR_FOLLOWER)
                        }
                        (Some(_), None) => Err(ErrorCode::INVALID_RECORD),
                        (Some(part), Some(records)) => {
                            part.log.lock().append(records, part.leader_epoch())
                        }
                    };
                    match result {
                        Ok(appended) => {
                            appended_any = true;
                            PartitionProduceResponse {
                                index: p.index,
                                base_offset: appended.base_offset,
                                log_start_offset: appended.log_start_offset,
                                ..Default::default()
                            }
                        }
                        Err(error) => PartitionProduceResponse {
                            index: p.index,
                            error_code: error.0,
                            base_offset: -1,
                            ..Default::default()
                        },
                    }
                })
                .collect();
            TopicProduceResponse {
                name: topic_data.name.clone(),
                partition_responses,
                ..Default::default()
            }
        })
        .collect();
    if appended_any {
        state.data_arrived.notify_waiters();
    }
    (request.acks != 0).then(|| ProduceResponse {
        responses,
        ..Default::default()
    })
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::PRODUCE, 3, 11);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::ProduceRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::ProduceResponse {
    let e = code.0;
    krafka_protocol::messages::ProduceResponse {
        responses: request
            .topic_data
            .iter()
            .map(
                |t| krafka_protocol::messages::produce_response::TopicProduceResponse {
                    name: t.name.clone(),
                    partition_responses: t
                        .partition_data
                        .iter()
                        .map(|p| {
                            krafka_protocol::messages::produce_response::PartitionProduceResponse {
                                index: p.index,
                                error_code: e,
                                base_offset: -1,
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
