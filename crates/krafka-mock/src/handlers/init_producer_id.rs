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
