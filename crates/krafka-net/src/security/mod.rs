//! How a connection is secured: the security protocol (Java's `security.protocol`), the TLS
//! settings ([`tls`]) and the SASL mechanism with its credentials ([`sasl`]).
//!
//! Everything here is configuration and I/O-free logic. The TLS stream lives in
//! [`crate::transport`]; the SASL exchange is decided by [`sasl::SaslSession`] and driven by
//! [`crate::handshake`] at connect time and by the connection for re-authentication (KIP-368).

pub mod sasl;
pub mod secret;
pub mod tls;

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "oidc")]
pub use sasl::OidcTokenProvider;
pub use sasl::{
    OAuthBearerToken, OAuthBearerTokenProvider, OidcConfig, SaslConfig, SaslMechanism,
    StaticTokenProvider, TokenError,
};
pub use secret::Secret;
pub use tls::{PemSource, TlsConfig};

/// Java's `security.protocol`: whether connections use TLS and whether they authenticate with
/// SASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// Plain TCP, no authentication (the default).
    #[default]
    Plaintext,
    /// TLS, authenticated by client certificate if one is configured.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections run over TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    /// The name as Kafka spells it (`SASL_SSL`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `security.protocol` value that is not one of Kafka's four.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSecurityProtocol(pub String);

impl fmt::Display for UnknownSecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown security protocol '{}' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSecurityProtocol {}

impl FromStr for SecurityProtocol {
    type Err = UnknownSecurityProtocol;

    /// Case-insensitive, as Java and librdkafka read it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            _ => Err(UnknownSecurityProtocol(s.to_owned())),
        }
    }
}

/// Everything that secures connections: the protocol, and the TLS and SASL settings it uses.
/// TLS settings are ignored unless the protocol uses TLS; a protocol with SASL needs
/// [`SecurityConfig::sasl`].
#[derive(Debug, Clone, Default)]
pub struct SecurityConfig {
    /// Java's `security.protocol`.
    pub protocol: SecurityProtocol,
    /// How TLS connections verify the broker and present the client.
    pub tls: TlsConfig,
    /// The SASL mechanism and credentials.
    pub sasl: Option<SaslConfig>,
}

impl SecurityConfig {
    /// TLS with the given settings, no SASL (`security.protocol=SSL`).
    pub fn ssl(tls: TlsConfig) -> Self {
        Self {
            protocol: SecurityProtocol::Ssl,
            tls,
            sasl: None,
        }
    }

    /// SASL over plain TCP (`SASL_PLAINTEXT`).
    pub fn sasl_plaintext(sasl: SaslConfig) -> Self {
        Self {
            protocol: SecurityProtocol::SaslPlaintext,
            tls: TlsConfig::default(),
            sasl: Some(sasl),
        }
    }

    /// SASL over TLS (`SASL_SSL`).
    pub fn sasl_ssl(tls: TlsConfig, sasl: SaslConfig) -> Self {
        Self {
            protocol: SecurityProtocol::SaslSsl,
            tls,
            sasl: Some(sasl),
        }
    }
}
