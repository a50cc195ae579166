//! CreatePartitions v0-3 (explicit replica assignments are not supported: the mock places new
//! partitions itself).

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use krafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::context::BrokerContext;
use super::context::error_message;

/// Answers a CreatePartitions request (explicit replica assignments are not supported: the
/// mock places new partitions itself).
pub fn handle(ctx: &BrokerContext, request: &CreatePartitionsRequest) -> CreatePartitionsResponse {
    let results = request
        .topics
        .iter()
        .map(|t| {
            let error = match ctx
                .state
                .add_partitions(&t.name, t.count, request.validate_only)
            {
                Ok(()) => ErrorCode::NONE,
                Err(e) => e,
            };
            CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: error.0,
                error_message: error_message(error),
                ..Default::default()
            }
        })
        .collect();
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::CREATE_PARTITIONS, 0, 3);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::CreatePartitionsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::CreatePartitionsResponse {
    let e = code.0;
    krafka_protocol::messages::CreatePartitionsResponse {
        results: request
            .topics
            .iter()
            .map(|t| {
                krafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult {
                    name: t.name.clone(),
                    error_code: e,
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}
