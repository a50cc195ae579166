//! `ApiKey`: which request a frame carries.
//!
//! A newtype over the wire's `int16` rather than a closed enum, so an unknown key read from the
//! network is still a value that can be logged and answered with an error. The named constants,
//! names and version tables are generated from the schemas (see `generated/api_keys.rs`).

use std::fmt;

/// A Kafka API key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKey(pub i16);

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
