//! The broker side of each API, one module per API, as franz-go's kfake keeps them: each
//! `<api>.rs` answers its API, owns the versions it serves (its `API`, from which
//! `api_versions` builds [`SUPPORTED`]) and its answer when a fault hook refuses a request
//! (its `error_response`). [`handle`] and [`error_response`] dispatch. The connection task
//! checks versions against [`SUPPORTED`] before calling in, and a handler sets only the
//! response fields its version carries. What every handler is given is in `context`.

mod api_versions;
mod context;
mod create_partitions;
mod create_topics;
mod delete_topics;
mod describe_configs;
mod describe_groups;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_fetch;
mod produce;
mod sync_group;

pub use api_versions::advertised;
pub use api_versions::{SUPPORTED, supports};
pub use context::BrokerContext;

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::{RequestBody, ResponseBody};

/// Handles one request; `None` means no response is sent (a Produce with acks=0).
pub async fn handle(
    ctx: &BrokerContext,
    version: i16,
    client_id: &str,
    body: RequestBody,
) -> Option<ResponseBody> {
    Some(match body {
        RequestBody::ApiVersions(_) => api_versions::handle(ctx).into(),
        RequestBody::Metadata(r) => metadata::handle(ctx, version, &r).into(),
        RequestBody::CreateTopics(r) => create_topics::handle(ctx, version, &r).into(),
        RequestBody::Produce(r) => return produce::handle(ctx, version, &r).map(Into::into),
        RequestBody::ListOffsets(r) => list_offsets::handle(ctx, version, &r).into(),
        RequestBody::InitProducerId(r) => init_producer_id::handle(ctx, &r).into(),
        RequestBody::FindCoordinator(r) => find_coordinator::handle(ctx, version, &r).into(),
        RequestBody::OffsetCommit(r) => offset_commit::handle(ctx, &r).into(),
        RequestBody::OffsetFetch(r) => offset_fetch::handle(ctx, version, &r).into(),
        RequestBody::DeleteTopics(r) => delete_topics::handle(ctx, version, &r).into(),
        RequestBody::CreatePartitions(r) => create_partitions::handle(ctx, &r).into(),
        RequestBody::DescribeConfigs(r) => describe_configs::handle(ctx, version, &r).into(),
        RequestBody::JoinGroup(r) => join_group::handle(ctx, version, client_id, &r).await.into(),
        RequestBody::SyncGroup(r) => sync_group::handle(ctx, version, &r).await.into(),
        RequestBody::Heartbeat(r) => heartbeat::handle(ctx, &r).into(),
        RequestBody::LeaveGroup(r) => leave_group::handle(ctx, version, &r).into(),
        RequestBody::ListGroups(r) => list_groups::handle(ctx, version, &r).into(),
        RequestBody::DescribeGroups(r) => describe_groups::handle(ctx, version, &r).into(),
        RequestBody::Fetch(r) => fetch::handle(ctx, version, &r).await.into(),
        // The connection task only passes supported APIs; anything else gets no answer.
        _ => return None,
    })
}

/// The response a broker gives when a fault hook refuses `request` with `code`: the same shape
/// as a real answer, with the error wherever the API carries one (each handler's own
/// `error_response`); `None` for an API no handler answers.
pub fn error_response(request: &RequestBody, code: ErrorCode) -> Option<ResponseBody> {
    Some(match request {
        RequestBody::ApiVersions(r) => api_versions::error_response(r, code).into(),
        RequestBody::Produce(r) => produce::error_response(r, code).into(),
        RequestBody::Fetch(r) => fetch::error_response(r, code).into(),
        RequestBody::ListOffsets(r) => list_offsets::error_response(r, code).into(),
        RequestBody::Metadata(r) => metadata::error_response(r, code).into(),
        RequestBody::CreateTopics(r) => create_topics::error_response(r, code).into(),
        RequestBody::InitProducerId(r) => init_producer_id::error_response(r, code).into(),
        RequestBody::FindCoordinator(r) => find_coordinator::error_response(r, code).into(),
        RequestBody::OffsetCommit(r) => offset_commit::error_response(r, code).into(),
        RequestBody::OffsetFetch(r) => offset_fetch::error_response(r, code).into(),
        RequestBody::DeleteTopics(r) => delete_topics::error_response(r, code).into(),
        RequestBody::CreatePartitions(r) => create_partitions::error_response(r, code).into(),
        RequestBody::DescribeConfigs(r) => describe_configs::error_response(r, code).into(),
        RequestBody::JoinGroup(r) => join_group::error_response(r, code).into(),
        RequestBody::SyncGroup(r) => sync_group::error_response(r, code).into(),
        RequestBody::Heartbeat(r) => heartbeat::error_response(r, code).into(),
        RequestBody::LeaveGroup(r) => leave_group::error_response(r, code).into(),
        RequestBody::ListGroups(r) => list_groups::error_response(r, code).into(),
        RequestBody::DescribeGroups(r) => describe_groups::error_response(r, code).into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use krafka_protocol::ApiKey;

    use super::*;

    /// Every API the mock advertises but SASL's two (answered by the connection's SASL state,
    /// never refused by a hook) has its handler's error answer, the one fault hooks send.
    #[test]
    fn every_served_api_has_an_error_answer() {
        let requests = [
            RequestBody::ApiVersions(Default::default()),
            RequestBody::Produce(Default::default()),
            RequestBody::Fetch(Default::default()),
            RequestBody::ListOffsets(Default::default()),
            RequestBody::Metadata(Default::default()),
            RequestBody::CreateTopics(Default::default()),
            RequestBody::InitProducerId(Default::default()),
            RequestBody::FindCoordinator(Default::default()),
            RequestBody::OffsetCommit(Default::default()),
            RequestBody::OffsetFetch(Default::default()),
            RequestBody::DeleteTopics(Default::default()),
            RequestBody::CreatePartitions(Default::default()),
            RequestBody::DescribeConfigs(Default::default()),
            RequestBody::JoinGroup(Default::default()),
            RequestBody::SyncGroup(Default::default()),
            RequestBody::Heartbeat(Default::default()),
            RequestBody::LeaveGroup(Default::default()),
            RequestBody::ListGroups(Default::default()),
            RequestBody::DescribeGroups(Default::default()),
        ];
        for &(key, _, _) in SUPPORTED {
            if matches!(key, ApiKey::SASL_HANDSHAKE | ApiKey::SASL_AUTHENTICATE) {
                continue;
            }
            let request = requests.iter().find(|r| r.api_key() == key);
            let answer = request.and_then(|r| error_response(r, ErrorCode::NOT_COORDINATOR));
            assert!(answer.is_some(), "{key:?} has no error answer");
        }
    }
}
