//! The broker side of each API, one module per API; [`handle`] dispatches. The connection task
//! checks versions against [`SUPPORTED`] (`versions`) before calling in, and a handler sets
//! only the response fields its version carries. What every handler is given is in `context`.

mod admin;
mod api_versions;
mod context;
mod create_topics;
mod fetch;
mod find_coordinator;
mod groups;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;
mod versions;

pub use api_versions::advertised;
pub use context::BrokerContext;
pub use versions::{SUPPORTED, supports};

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
        RequestBody::OffsetCommit(r) => offsets::commit(ctx, &r).into(),
        RequestBody::OffsetFetch(r) => offsets::fetch(ctx, version, &r).into(),
        RequestBody::DeleteTopics(r) => admin::delete_topics(ctx, version, &r).into(),
        RequestBody::CreatePartitions(r) => admin::create_partitions(ctx, &r).into(),
        RequestBody::DescribeConfigs(r) => admin::describe_configs(ctx, version, &r).into(),
        RequestBody::JoinGroup(r) => groups::join(ctx, version, client_id, &r).await.into(),
        RequestBody::SyncGroup(r) => groups::sync(ctx, version, &r).await.into(),
        RequestBody::Heartbeat(r) => groups::heartbeat(ctx, &r).into(),
        RequestBody::LeaveGroup(r) => groups::leave(ctx, version, &r).into(),
        RequestBody::ListGroups(r) => groups::list_groups(ctx, version, &r).into(),
        RequestBody::DescribeGroups(r) => groups::describe_groups(ctx, version, &r).into(),
        RequestBody::Fetch(r) => fetch::handle(ctx, version, &r).await.into(),
        // The connection task only passes supported APIs; anything else gets no answer.
        _ => return None,
    })
}
