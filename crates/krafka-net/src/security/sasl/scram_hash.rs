//! The hash a SCRAM mechanism uses, as configuration names it: always built, so a build
//! without the `tls` feature (which brings SCRAM's HMAC and PBKDF2) still reads
//! `sasl.mechanism=SCRAM-SHA-256` and refuses it with a clear error.

/// The hash a SCRAM mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// The mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }
}
