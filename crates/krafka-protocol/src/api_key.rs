//! `ApiKey`: which request a frame carries, and what the schemas say about each API.
//!
//! A newtype over the wire's `int16` rather than a closed enum, so an unknown key read from the
//! network is still a value that can be logged and answered with an error. The named constants
//! and the per-API table are generated from the schemas (`generated/api_keys.rs`).

use std::fmt;

use crate::codec::VersionRange;

/// A Kafka API key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKey(pub i16);

/// What the schemas define for one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiInfo {
    /// The API's name, e.g. `Fetch`.
    pub name: &'static str,
    /// The versions the schemas define.
    pub versions: VersionRange,
    /// The first version whose request is flexible (compact encodings, tagged fields).
    pub request_flexible_from: Option<i16>,
    /// The first version whose response is flexible.
    pub response_flexible_from: Option<i16>,
}

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
