//! What the readers of a properties file (`security`, `syntax`) need from it: looking a key up,
//! and the error that names a key.

use std::fmt;

/// Looks a property up.
pub(crate) trait Lookup {
    fn get(&self, key: &str) -> Option<&str>;
}

/// A property that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    /// The key.
    pub key: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "property {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for PropertyError {}
