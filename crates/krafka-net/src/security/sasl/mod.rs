//! SASL: the mechanisms Krafka authenticates with and their credentials ([`SaslConfig`]), each
//! mechanism's client side as I/O-free logic ([`Authenticator`]), and the whole Kafka exchange
//! around it ([`session::SaslSession`]: SaslHandshake, then SaslAuthenticate rounds, KIP-152).
//!
//! Mechanisms: PLAIN (RFC 4616), SCRAM-SHA-256 and SCRAM-SHA-512 (`scram`, RFC 5802/7677)
//! (their HMAC and PBKDF2 from aws-lc-rs, with the `tls` feature)
//! and OAUTHBEARER ([`oauthbearer`], KIP-255, RFC 7628) with a token provider the application
//! implements, or tokens from an OIDC token endpoint ([`oidc`], KIP-768; the HTTP driver
//! behind the `oidc` cargo feature). GSSAPI (Kerberos) is not supported.

pub mod jaas;
mod mechanism;
pub mod oauthbearer;
pub mod oidc;
#[cfg(feature = "oidc")]
mod oidc_http;
#[cfg(feature = "tls")]
pub mod scram;
mod scram_hash;
pub mod session;
mod step;

pub use oauthbearer::{
    OAuthBearerToken, OAuthBearerTokenProvider, StaticTokenProvider, TokenError,
};
pub use oidc::OidcConfig;
#[cfg(feature = "oidc")]
pub use oidc_http::OidcTokenProvider;
#[cfg(feature = "tls")]
pub use scram::ScramClient;
pub use scram_hash::ScramHash;
pub use session::{SaslRequest, SaslSession, SessionOutcome};

pub use mechanism::{Authenticator, SaslConfig, SaslMechanism, authenticator};
pub use step::{Reply, SaslFailure};
