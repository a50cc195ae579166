//! The broker side of each API, one module per API. Each states the versions it serves; the
//! connection task checks versions against [`SUPPORTED`] before calling in, and a handler sets
//! only the response fields its version carries.

mod admin;
mod api_versions;

pub use api_versions::advertised;
mod create_topics;
mod fetch;
mod find_coordinator;
mod groups;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;

use std::sync::Arc;

use krafka_protocol::ApiKey;
use krafka_protocol::messages::{RequestBody, ResponseBody};

use crate::state::ClusterState;

/// The APIs and version ranges the mock serves, as a Kafka 3.9 broker advertises them (Produce
/// from v3 and Fetch from v4: the mock stores record batches, magic 2, only).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::PRODUCE, 3, 11),
    (ApiKey::FETCH, 4, 17),
    (ApiKey::LIST_OFFSETS, 1, 9),
    (ApiKey::METADATA, 0, 12),
    (ApiKey::API_VERSIONS, 0, 4),
    (ApiKey::CREATE_TOPICS, 0, 7),
    (ApiKey::INIT_PRODUCER_ID, 0, 5),
    (ApiKey::FIND_COORDINATOR, 0, 6),
    (ApiKey::OFFSET_COMMIT, 2, 9),
    (ApiKey::OFFSET_FETCH, 1, 9),
    (ApiKey::DELETE_TOPICS, 0, 6),
    (ApiKey::CREATE_PARTITIONS, 0, 3),
    (ApiKey::DESCRIBE_CONFIGS, 0, 4),
    (ApiKey::JOIN_GROUP, 0, 9),
    (ApiKey::SYNC_GROUP, 0, 5),
    (ApiKey::HEARTBEAT, 0, 4),
    (ApiKey::LEAVE_GROUP, 0, 5),
    (ApiKey::LIST_GROUPS, 0, 5),
    (ApiKey::DESCRIBE_GROUPS, 0, 5),
    // Answered by the connection's SASL state (see `security`), on every listener as Kafka does.
    (ApiKey::SASL_HANDSHAKE, 0, 1),
    (ApiKey::SASL_AUTHENTICATE, 0, 2),
];

/// The versions of `api_key` broker `ctx` serves: [`SUPPORTED`], narrowed by any cap a test
/// set with `MockCluster::restrict_versions`; `None` when it does not serve the API at all.
pub fn served_versions(ctx: &BrokerContext, api_key: ApiKey) -> Option<(i16, i16)> {
    let (_, min, max) = SUPPORTED.iter().find(|(k, _, _)| *k == api_key)?;
    let max = match ctx.state.version_cap(ctx.node_id, api_key) {
        Some(cap) => cap.min(*max),
        None => *max,
    };
    (max >= *min).then_some((*min, max))
}

/// Whether broker `ctx` serves `version` of `api_key`.
pub fn supports(ctx: &BrokerContext, api_key: ApiKey, version: i16) -> bool {
    served_versions(ctx, api_key).is_some_and(|(min, max)| (min..=max).contains(&version))
}

/// What a handler needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct BrokerContext {
    /// The shared cluster state.
    pub state: Arc<ClusterState>,
    /// This broker's node id.
    pub node_id: i32,
    /// The client's address, on a connection's own copy (what DescribeGroups reports as a
    /// member's host).
    pub peer: Option<std::net::SocketAddr>,
    /// The listener's TLS and SASL.
    pub(crate) security: crate::security::ListenerSecurity,
}

/// Whether broker `ctx` coordinates `group` (see [`crate::groups`]).
pub fn is_coordinator(ctx: &BrokerContext, group: &str) -> bool {
    let up: Vec<i32> = ctx
        .state
        .brokers
        .read()
        .iter()
        .filter(|b| b.up)
        .map(|b| b.node_id)
        .collect();
    ctx.state.groups.coordinator(group, &up) == Some(ctx.node_id)
}

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
