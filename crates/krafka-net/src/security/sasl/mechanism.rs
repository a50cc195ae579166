//! The mechanisms and their credentials ([`SaslConfig`]), and each mechanism's client side for
//! one exchange ([`Authenticator`]), free of I/O.

use std::fmt;
use std::sync::Arc;

use super::oauthbearer::{self, OAuthBearerTokenProvider};
#[cfg(feature = "tls")]
use super::scram::ScramClient;
use super::scram_hash::ScramHash;
use super::step::{Reply, SaslFailure};
use crate::security::secret::Secret;

/// A SASL mechanism with what it authenticates with.
#[derive(Clone)]
pub enum SaslMechanism {
    /// PLAIN: the password travels as is (use it over TLS only).
    Plain {
        /// The user.
        username: String,
        /// Its password.
        password: Secret,
    },
    /// SCRAM-SHA-256 or SCRAM-SHA-512: the password never travels, and the broker proves it
    /// knows it too.
    Scram {
        /// Which hash.
        hash: ScramHash,
        /// The user.
        username: String,
        /// Its password.
        password: Secret,
    },
    /// OAUTHBEARER: a bearer token from a provider, fetched again before it expires.
    OAuthBearer {
        /// Where tokens come from (shared by every connection of a client).
        provider: oauthbearer::TokenCache,
    },
}

impl fmt::Debug for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain { username, .. } | Self::Scram { username, .. } => f
                .debug_struct(self.name())
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Self::OAuthBearer { provider } => f
                .debug_struct("OAUTHBEARER")
                .field("provider", provider)
                .finish(),
        }
    }
}

impl SaslMechanism {
    /// The mechanism's name as Kafka spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Plain { .. } => "PLAIN",
            Self::Scram { hash, .. } => hash.mechanism(),
            Self::OAuthBearer { .. } => "OAUTHBEARER",
        }
    }
}

/// The SASL settings of a client: which mechanism, with which credentials.
#[derive(Debug, Clone)]
pub struct SaslConfig {
    /// The mechanism and its credentials.
    pub mechanism: SaslMechanism,
}

impl SaslConfig {
    /// PLAIN with a user and password.
    pub fn plain(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            mechanism: SaslMechanism::Plain {
                username: username.into(),
                password: password.into(),
            },
        }
    }

    /// SCRAM-SHA-256 with a user and password.
    pub fn scram_sha256(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::scram(ScramHash::Sha256, username, password)
    }

    /// SCRAM-SHA-512 with a user and password.
    pub fn scram_sha512(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::scram(ScramHash::Sha512, username, password)
    }

    /// SCRAM with the given hash.
    pub fn scram(
        hash: ScramHash,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self {
            mechanism: SaslMechanism::Scram {
                hash,
                username: username.into(),
                password: password.into(),
            },
        }
    }

    /// OAUTHBEARER with tokens from `provider`.
    pub fn oauthbearer(provider: Arc<dyn OAuthBearerTokenProvider>) -> Self {
        Self {
            mechanism: SaslMechanism::OAuthBearer {
                provider: oauthbearer::TokenCache::new(provider),
            },
        }
    }

    /// Builds a configuration from a mechanism name and a user and password (librdkafka's
    /// `sasl.mechanism` with `sasl.username` / `sasl.password`).
    pub fn from_name(
        mechanism: &str,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Result<Self, SaslFailure> {
        match mechanism.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::plain(username, password)),
            "SCRAM-SHA-256" => Ok(Self::scram_sha256(username, password)),
            "SCRAM-SHA-512" => Ok(Self::scram_sha512(username, password)),
            "OAUTHBEARER" => Err(SaslFailure::new(
                "OAUTHBEARER takes a token provider, not a user and password",
            )),
            "GSSAPI" => Err(SaslFailure::new("GSSAPI (Kerberos) is not supported")),
            other => Err(SaslFailure::new(format!(
                "unknown SASL mechanism '{other}' (expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)"
            ))),
        }
    }
}

/// One mechanism's client side for one exchange.
#[derive(Debug)]
pub enum Authenticator {
    /// PLAIN: one message.
    Plain {
        /// `\0user\0password`, sent once.
        message: Option<Secret>,
    },
    /// SCRAM: three messages.
    #[cfg(feature = "tls")]
    Scram(ScramClient),
    /// OAUTHBEARER: one message carrying the token.
    OAuthBearer(oauthbearer::OAuthBearerClient),
}

impl Authenticator {
    /// The first message to the server.
    pub fn first_message(&mut self) -> Result<Vec<u8>, SaslFailure> {
        match self {
            Self::Plain { message } => message
                .take()
                .map(|m| m.expose().as_bytes().to_vec())
                .ok_or_else(|| SaslFailure::new("PLAIN message asked for twice")),
            #[cfg(feature = "tls")]
            Self::Scram(scram) => scram.client_first(),
            Self::OAuthBearer(client) => client.first_message(),
        }
    }

    /// Takes the server's answer to the last message: what to send next, or done.
    pub fn on_challenge(&mut self, challenge: &[u8]) -> Result<Reply, SaslFailure> {
        match self {
            // Kafka answers a PLAIN message with an empty challenge and no error.
            Self::Plain { .. } => Ok(Reply::Done),
            #[cfg(feature = "tls")]
            Self::Scram(scram) => {
                if scram.is_done() {
                    return Err(SaslFailure::new("message after the SCRAM exchange ended"));
                }
                // The second answer is server-final; the first, server-first.
                match scram.server_first_pending() {
                    true => scram.server_first(challenge).map(Reply::Send),
                    false => scram.server_final(challenge).map(|()| Reply::Done),
                }
            }
            Self::OAuthBearer(client) => client.on_challenge(challenge),
        }
    }
}

/// PLAIN's message (RFC 4616): no authorization identity, then the user and the password.
pub(crate) fn plain_message(username: &str, password: &Secret) -> Secret {
    Secret::new(format!("\0{username}\0{}", password.expose()))
}

/// The client side of one exchange for `config` (for OAUTHBEARER, with a token that is fresh
/// now, which may ask the provider). Cancel-safe.
pub async fn authenticator(config: &SaslConfig) -> Result<Authenticator, SaslFailure> {
    Ok(match &config.mechanism {
        SaslMechanism::Plain { username, password } => Authenticator::Plain {
            message: Some(plain_message(username, password)),
        },
        #[cfg(feature = "tls")]
        SaslMechanism::Scram {
            hash,
            username,
            password,
        } => Authenticator::Scram(ScramClient::new(*hash, username, password.clone())?),
        // The connection settings refuse SCRAM in this build before any connection is made.
        #[cfg(not(feature = "tls"))]
        SaslMechanism::Scram { hash, .. } => {
            return Err(SaslFailure::new(format!(
                "{} needs krafka-net's `tls` feature (HMAC and PBKDF2 from aws-lc-rs)",
                hash.mechanism()
            )));
        }
        SaslMechanism::OAuthBearer { provider } => {
            let token = provider
                .token(std::time::SystemTime::now())
                .await
                .map_err(|e| SaslFailure::new(e.to_string()))?;
            Authenticator::OAuthBearer(oauthbearer::OAuthBearerClient::new(&token)?)
        }
    })
}
