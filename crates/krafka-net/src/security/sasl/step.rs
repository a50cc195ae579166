//! What one SASL step says: the mechanism's reply to a server message, or why it failed.

use std::fmt;

/// Why a SASL step failed, in words for the user (never containing a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslFailure {
    /// What went wrong.
    pub message: String,
}

impl SaslFailure {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for SaslFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SaslFailure {}

/// What a mechanism wants after a server message.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes in the next SaslAuthenticate.
    Send(Vec<u8>),
    /// The mechanism is complete on the client's side.
    Done,
}
