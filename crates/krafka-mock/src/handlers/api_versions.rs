//! ApiVersions, v0-4: the APIs of [`super::SUPPORTED`]. A request of a version the mock does not
//! know is answered by the connection task with a v0 response (KIP-511), not here.

use krafka_protocol::messages::ApiVersionsResponse;
use krafka_protocol::messages::api_versions_response::ApiVersion;

/// The advertised versions.
pub fn handle(_version: i16) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: advertised(),
        ..Default::default()
    }
}

/// The advertised API keys, also sent with an UNSUPPORTED_VERSION answer.
pub fn advertised() -> Vec<ApiVersion> {
    super::SUPPORTED
        .iter()
        .map(|(key, min, max)| ApiVersion {
            api_key: key.0,
            min_version: *min,
            max_version: *max,
            ..Default::default()
        })
        .collect()
}
