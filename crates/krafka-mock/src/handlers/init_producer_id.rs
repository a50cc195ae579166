//! InitProducerId, v0-5: a producer id and epoch for an idempotent or transactional producer;
//! with the caller's current id and epoch (v3+, KIP-360), the next epoch of the same id.

use krafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse};

use super::context::BrokerContext;

/// Answers an InitProducerId request.
pub fn handle(ctx: &BrokerContext, request: &InitProducerIdRequest) -> InitProducerIdResponse {
    let current =
        (request.producer_id >= 0).then_some((request.producer_id, request.producer_epoch));
    match ctx
        .state
        .producer_ids
        .init(request.transactional_id.as_deref(), current)
    {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse {
            producer_id,
            producer_epoch,
            ..Default::default()
        },
        Err(error) => InitProducerIdResponse {
            error_code: error.0,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        },
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::INIT_PRODUCER_ID, 0, 5);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::InitProducerIdRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::InitProducerIdResponse {
    let e = code.0;
    krafka_protocol::messages::InitProducerIdResponse {
        error_code: e,
        producer_id: -1,
        producer_epoch: -1,
        ..Default::default()
    }
}
