//! What the schemas say about an [`ApiKey`]: its name, versions and flexible encodings, read
//! from the generated per-API table.

use std::fmt;

use crate::api_key::{ApiInfo, ApiKey, VersionRange};

impl ApiKey {
    /// The schema facts for this key, or `None` for a key the schemas do not define.
    pub const fn info(&self) -> Option<&'static ApiInfo> {
        crate::generated::api_info(self.0)
    }

    /// The API's name, e.g. `Fetch`.
    pub const fn name(&self) -> Option<&'static str> {
        match self.info() {
            Some(info) => Some(info.name),
            None => None,
        }
    }

    /// The versions of this API that Krafka can encode and decode.
    ///
    /// Every message is generated at every version its schema defines, so this is the schema's
    /// whole range; a connection intersects it with what the broker advertises.
    pub const fn supported_versions(&self) -> Option<VersionRange> {
        match self.info() {
            Some(info) => Some(info.versions),
            None => None,
        }
    }

    /// Whether `version` of this API's request uses the flexible encoding.
    pub const fn is_request_flexible(&self, version: i16) -> bool {
        matches!(self.info(), Some(ApiInfo { request_flexible_from: Some(v), .. }) if version >= *v)
    }

    /// Whether `version` of this API's response uses the flexible encoding.
    pub const fn is_response_flexible(&self, version: i16) -> bool {
        matches!(self.info(), Some(ApiInfo { response_flexible_from: Some(v), .. }) if version >= *v)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "ApiKey({})", self.0),
        }
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown API key {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_and_versions() {
        assert_eq!(ApiKey::PRODUCE.0, 0);
        assert_eq!(ApiKey::FETCH.name(), Some("Fetch"));
        assert_eq!(ApiKey::API_VERSIONS.0, 18);
        assert_eq!(
            ApiKey::FETCH.supported_versions(),
            Some(VersionRange::new(0, 17))
        );
        assert!(ApiKey::FETCH.is_request_flexible(12));
        assert!(!ApiKey::FETCH.is_request_flexible(11));
        assert_eq!(ApiKey(-5).info(), None);
        assert_eq!(format!("{:?}", ApiKey::METADATA), "Metadata(3)");
        let mut keys = ApiKey::ALL.to_vec();
        keys.dedup();
        assert_eq!(keys.len(), ApiKey::ALL.len());
    }
}
