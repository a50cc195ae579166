//! ApiVersions, v0-4: the APIs of [`super::versions::SUPPORTED`], narrowed by any version caps a test
//! set. A request of a version the mock does not know is answered by the connection task with a
//! v0 response (KIP-511), not here.

use krafka_protocol::messages::ApiVersionsResponse;
use krafka_protocol::messages::api_versions_response::ApiVersion;

use super::context::BrokerContext;

/// The advertised versions.
pub fn handle(ctx: &BrokerContext) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: advertised(ctx),
        ..Default::default()
    }
}

/// The API keys broker `ctx` advertises, also sent with an UNSUPPORTED_VERSION answer.
pub fn advertised(ctx: &BrokerContext) -> Vec<ApiVersion> {
    super::versions::SUPPORTED
        .iter()
        .filter_map(|(key, _, _)| {
            let (min, max) = super::versions::served_versions(ctx, *key)?;
            Some(ApiVersion {
                api_key: key.0,
                min_version: min,
                max_version: max,
                ..Default::default()
            })
        })
        .collect()
}
