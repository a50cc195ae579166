//! CreateTopics, v0-7: creates topics with the requested partition count (-1 for the cluster
//! default); `validate_only` (v1+) checks without creating. Replication factors other than -1
//! and 1 are accepted and reported back, but every partition has one replica.

use krafka_protocol::ErrorCode;
use krafka_protocol::StrBytes;
use krafka_protocol::messages::CreateTopicsRequest;
use krafka_protocol::messages::CreateTopicsResponse;
use krafka_protocol::messages::create_topics_response::CreatableTopicResult;

use super::context::BrokerContext;

/// Answers a CreateTopics request.
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &CreateTopicsRequest,
) -> CreateTopicsResponse {
    let state = &ctx.state;
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = if t.num_partitions == -1 {
                state.default_partitions
            } else {
                t.num_partitions
            };
            let outcome = if request.validate_only {
                match state.topic(&t.name) {
                    Some(_) => Err(ErrorCode::TOPIC_ALREADY_EXISTS),
                    None if partitions <= 0 => Err(ErrorCode::INVALID_PARTITIONS),
                    None => Ok(None),
                }
            } else {
                let configs = t
                    .configs
                    .iter()
                    .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                    .collect();
                state
                    .create_topic_with(&t.name, partitions, configs)
                    .map(Some)
            };
            let (error, id) = match outcome {
                Ok(topic) => (ErrorCode::NONE, topic.map(|t| t.id).unwrap_or_default()),
                Err(e) => (e, Default::default()),
            };
            CreatableTopicResult {
                name: t.name.clone(),
                topic_id: if version >= 7 { id } else { Default::default() },
                error_code: error.0,
                error_message: (version >= 1 && error.is_error())
                    .then(|| StrBytes::from_static_str(error.message())),
                num_partitions: if version >= 5 && error.is_ok() {
                    partitions
                } else {
                    -1
                },
                replication_factor: if version >= 5 && error.is_ok() { 1 } else { -1 },
                configs: if version >= 5 { Some(Vec::new()) } else { None },
                ..Default::default()
            }
        })
        .collect();
    CreateTopicsResponse {
        topics,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::CREATE_TOPICS, 0, 7);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::CreateTopicsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::CreateTopicsResponse {
    let e = code.0;
    krafka_protocol::messages::CreateTopicsResponse {
        topics: request
            .topics
            .iter()
            .map(
                |t| krafka_protocol::messages::create_topics_response::CreatableTopicResult {
                    name: t.name.clone(),
                    error_code: e,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
