//! DeleteTopics v0-6: by name, or by topic id from v6.

use krafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use krafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};

use super::context::BrokerContext;
use super::context::error_message;

/// Answers a DeleteTopics request (by name, or by topic id from v6).
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let state = &ctx.state;
    let wanted: Vec<(Option<StrBytes>, Uuid)> = if version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.clone()), Uuid::ZERO))
            .collect()
    };
    let responses = wanted
        .into_iter()
        .map(|(name, id)| {
            let name = name
                .map(|n| n.to_string())
                .or_else(|| state.topic_by_id(id).map(|(n, _)| n));
            let result = match &name {
                Some(name) => state.delete_topic(name),
                None => Err(ErrorCode::UNKNOWN_TOPIC_ID),
            };
            let error = result.err().unwrap_or(ErrorCode::NONE);
            DeletableTopicResult {
                name: name.map(StrBytes::from_string).or(if version >= 6 {
                    None
                } else {
                    Some(StrBytes::new())
                }),
                topic_id: if version >= 6 {
                    result.unwrap_or(id)
                } else {
                    Uuid::ZERO
                },
                error_code: error.0,
                error_message: if version >= 5 {
                    error_message(error)
                } else {
                    None
                },
                ..Default::default()
            }
        })
        .collect();
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::DELETE_TOPICS, 0, 6);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::DeleteTopicsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::DeleteTopicsResponse {
    let e = code.0;
    krafka_protocol::messages::DeleteTopicsResponse {
        responses: request
            .topic_names
            .iter()
            .cloned()
            .map(Some)
            .chain(request.topics.iter().map(|t| t.name.clone()))
            .map(
                |name| krafka_protocol::messages::delete_topics_response::DeletableTopicResult {
                    name,
                    error_code: e,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
