//! ApiVersions, v0-4: the table of what the mock serves ([`SUPPORTED`], built from each
//! handler's own `API` versions), narrowed by any version caps a test set. A request of a version the mock does not know is answered by the connection task with a
//! v0 response (KIP-511), not here.

use krafka_protocol::messages::ApiVersionsResponse;
use krafka_protocol::messages::api_versions_response::ApiVersion;

use krafka_protocol::ApiKey;

use super::context::BrokerContext;
use super::{
    create_partitions, create_topics, delete_topics, describe_configs, describe_groups, fetch,
    find_coordinator, heartbeat, init_producer_id, join_group, leave_group, list_groups,
    list_offsets, metadata, offset_commit, offset_fetch, produce, sync_group,
};

/// The APIs and version ranges the mock serves, as a Kafka 3.9 broker advertises them (Produce
/// from v3 and Fetch from v4: the mock stores record batches, magic 2, only). Each handler
/// owns its range; SaslHandshake and SaslAuthenticate are answered by the connection's SASL
/// state (see `security`), on every listener as Kafka does.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    API,
    produce::API,
    fetch::API,
    list_offsets::API,
    metadata::API,
    create_topics::API,
    init_producer_id::API,
    find_coordinator::API,
    offset_commit::API,
    offset_fetch::API,
    delete_topics::API,
    create_partitions::API,
    describe_configs::API,
    join_group::API,
    sync_group::API,
    heartbeat::API,
    leave_group::API,
    list_groups::API,
    describe_groups::API,
    (ApiKey::SASL_HANDSHAKE, 0, 1),
    (ApiKey::SASL_AUTHENTICATE, 0, 2),
];

/// The advertised versions.
pub fn handle(ctx: &BrokerContext) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: advertised(ctx),
        ..Default::default()
    }
}

/// The API keys broker `ctx` advertises, also sent with an UNSUPPORTED_VERSION answer.
pub fn advertised(ctx: &BrokerContext) -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .filter_map(|(key, _, _)| {
            let (min, max) = served_versions(ctx, *key)?;
            Some(ApiVersion {
                api_key: key.0,
                min_version: min,
                max_version: max,
                ..Default::default()
            })
        })
        .collect()
}

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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::API_VERSIONS, 0, 4);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::ApiVersionsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::ApiVersionsResponse {
    let e = code.0;
    krafka_protocol::messages::ApiVersionsResponse {
        error_code: e,
        ..Default::default()
    }
}
