//! The APIs and versions the mock serves, as ApiVersions answers them and the connection task
//! checks them.

use krafka_protocol::ApiKey;

use super::context::BrokerContext;

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
