//! SASL on a mock connection, as a Kafka broker's authenticator does it: the mechanisms and
//! users of a cluster ([`SaslServer`]) and each connection's state ([`ConnAuth`]): which
//! requests may pass, SaslHandshake and SaslAuthenticate answers, session expiry and
//! re-authentication (KIP-368).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use krafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

use super::scram::{self, Credential, Exchange, Hash};

/// SASL on the mock's listeners: which mechanisms, which users.
#[derive(Debug, Clone)]
pub struct MockSasl {
    pub(crate) mechanisms: Vec<SaslMechanismName>,
    pub(crate) users: Vec<(String, String)>,
    pub(crate) session_lifetime: Option<Duration>,
    pub(crate) forge_server_signature: bool,
}

impl MockSasl {
    /// SASL with `mechanisms` enabled and no users yet.
    pub fn new(mechanisms: impl IntoIterator<Item = SaslMechanismName>) -> Self {
        Self {
            mechanisms: mechanisms.into_iter().collect(),
            users: Vec::new(),
            session_lifetime: None,
            forge_server_signature: false,
        }
    }

    /// Every mechanism the mock knows.
    pub fn all() -> Self {
        Self::new(SaslMechanismName::ALL)
    }

    /// A user with a password, for PLAIN and SCRAM (OAUTHBEARER accepts any unexpired
    /// unsecured token whose `sub` is a configured user).
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Sessions end this long after authentication unless the client re-authenticates
    /// (Kafka's `connections.max.reauth.ms`, KIP-368); sent as `session_lifetime_ms`.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// A fault: the SCRAM server-final message carries a wrong signature, as a server that
    /// does not know the password would send. Clients must refuse it.
    pub fn forge_server_signature(mut self, forge: bool) -> Self {
        self.forge_server_signature = forge;
        self
    }
}

/// A SASL mechanism the mock can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanismName {
    /// PLAIN.
    Plain,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// OAUTHBEARER with unsecured (`alg: none`) tokens, as Kafka's default validator.
    OAuthBearer,
}

impl SaslMechanismName {
    /// Every mechanism the mock knows.
    pub const ALL: [Self; 4] = [
        Self::Plain,
        Self::ScramSha256,
        Self::ScramSha512,
        Self::OAuthBearer,
    ];

    /// The name as Kafka spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism named `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }

    fn scram_hash(self) -> Option<Hash> {
        match self {
            Self::ScramSha256 => Some(Hash::Sha256),
            Self::ScramSha512 => Some(Hash::Sha512),
            _ => None,
        }
    }
}

struct User {
    password: String,
    sha256: Credential,
    sha512: Credential,
}

/// A cluster's SASL settings with each user's stored credentials.
pub(crate) struct SaslServer {
    mechanisms: Vec<SaslMechanismName>,
    users: HashMap<String, User>,
    session_lifetime: Option<Duration>,
    forge_server_signature: bool,
}

impl std::fmt::Debug for SaslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslServer")
            .field("mechanisms", &self.mechanisms)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SaslServer {
    pub(crate) fn new(config: &MockSasl) -> Self {
        let users = config
            .users
            .iter()
            .enumerate()
            .map(|(i, (name, password))| {
                // A salt per user and hash, as a broker keeps them.
                let salt = |hash: u8| format!("krafka-mock-salt-{i}-{hash}-{name}").into_bytes();
                let user = User {
                    password: password.clone(),
                    sha256: Credential::new(Hash::Sha256, password, salt(1)),
                    sha512: Credential::new(Hash::Sha512, password, salt(2)),
                };
                (name.clone(), user)
            })
            .collect();
        Self {
            mechanisms: config.mechanisms.clone(),
            users,
            session_lifetime: config.session_lifetime,
            forge_server_signature: config.forge_server_signature,
        }
    }

    fn credential(&self, user: &str, hash: Hash) -> Option<&Credential> {
        let user = self.users.get(user)?;
        Some(match hash {
            Hash::Sha256 => &user.sha256,
            Hash::Sha512 => &user.sha512,
        })
    }
}

enum State {
    /// Nothing authenticated yet.
    Unauthenticated,
    /// SaslHandshake chose this mechanism; its first message comes next.
    Chosen(SaslMechanismName),
    /// SCRAM's client-final comes next.
    ScramFinal(Box<(Exchange, Credential)>),
    /// OAUTHBEARER sent its error challenge; the client's `\x01` comes next, then failure.
    OAuthFailing(String),
    /// Authenticated; `expires_at` says until when.
    Authenticated,
}

/// One connection's SASL state. Without a [`SaslServer`] every request passes and the SASL
/// APIs answer ILLEGAL_SASL_STATE, as on a Kafka PLAINTEXT or SSL listener.
pub(crate) struct ConnAuth {
    server: Option<Arc<SaslServer>>,
    state: State,
    expires_at: Option<Instant>,
    nonce_counter: u64,
}

/// A SaslAuthenticate answer, and whether the connection closes after it is sent.
pub(crate) struct AuthAnswer {
    pub(crate) response: SaslAuthenticateResponse,
    pub(crate) close: bool,
}

impl ConnAuth {
    pub(crate) fn new(server: Option<Arc<SaslServer>>) -> Self {
        Self {
            server,
            state: State::Unauthenticated,
            expires_at: None,
            nonce_counter: 0,
        }
    }

    /// Whether a request of `api_key` may be served at `now`; `Err` closes the connection.
    pub(crate) fn admit(&self, api_key: ApiKey, now: Instant) -> Result<(), &'static str> {
        if self.server.is_none()
            || matches!(
                api_key,
                ApiKey::API_VERSIONS | ApiKey::SASL_HANDSHAKE | ApiKey::SASL_AUTHENTICATE
            )
        {
            return Ok(());
        }
        match self.state {
            State::Authenticated => match self.expires_at {
                Some(at) if now >= at => Err("SASL session expired; closing"),
                _ => Ok(()),
            },
            // Also during a re-authentication: a client must not send other requests then.
            _ => Err("request before SASL authentication completed; closing"),
        }
    }

    pub(crate) fn handshake(
        &mut self,
        request: &SaslHandshakeRequest,
        version: i16,
    ) -> Result<(SaslHandshakeResponse, bool), &'static str> {
        let Some(server) = &self.server else {
            return Ok((illegal_state_handshake(), false));
        };
        if version == 0 {
            return Err("SaslHandshake v0 (raw SASL frames) is not served");
        }
        if !matches!(self.state, State::Unauthenticated | State::Authenticated) {
            return Ok((illegal_state_handshake(), true));
        }
        let enabled = server
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect();
        let chosen =
            SaslMechanismName::parse(&request.mechanism).filter(|m| server.mechanisms.contains(m));
        let Some(mechanism) = chosen else {
            let response = SaslHandshakeResponse {
                error_code: ErrorCode::UNSUPPORTED_SASL_MECHANISM.0,
                mechanisms: enabled,
            };
            return Ok((response, true));
        };
        self.state = State::Chosen(mechanism);
        let response = SaslHandshakeResponse {
            mechanisms: enabled,
            ..Default::default()
        };
        Ok((response, false))
    }

    pub(crate) fn authenticate(
        &mut self,
        request: &SaslAuthenticateRequest,
        version: i16,
        now: Instant,
    ) -> AuthAnswer {
        let Some(server) = self.server.clone() else {
            return failure(
                ErrorCode::ILLEGAL_SASL_STATE,
                "SASL is not enabled on this listener",
            );
        };
        let bytes = &request.auth_bytes;
        let state = std::mem::replace(&mut self.state, State::Unauthenticated);
        let outcome = match state {
            State::Chosen(SaslMechanismName::Plain) => plain(&server, bytes).map(|()| None),
            State::Chosen(SaslMechanismName::OAuthBearer) => match oauthbearer(&server, bytes) {
                Ok(expiry) => Ok(Some(expiry)),
                Err(why) => {
                    // RFC 7628: an error challenge first; the client answers \x01; then fail.
                    self.state = State::OAuthFailing(why);
                    return AuthAnswer {
                        response: SaslAuthenticateResponse {
                            auth_bytes: Bytes::from_static(br#"{"status":"invalid_token"}"#),
                            ..Default::default()
                        },
                        close: false,
                    };
                }
            },
            State::Chosen(mechanism) => {
                let Some(hash) = mechanism.scram_hash() else {
                    return failure(ErrorCode::ILLEGAL_SASL_STATE, "unknown mechanism state");
                };
                let mut exchange = match scram::client_first(hash, bytes) {
                    Ok(e) => e,
                    Err(why) => return failure(ErrorCode::SASL_AUTHENTICATION_FAILED, &why),
                };
                let Some(credential) = server.credential(&exchange.user, hash) else {
                    return failure(
                        ErrorCode::SASL_AUTHENTICATION_FAILED,
                        &format!(
                            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                            mechanism.name()
                        ),
                    );
                };
                self.nonce_counter += 1;
                let server_nonce = format!("mock{}x{}", self.nonce_counter, nanos());
                let first = exchange.server_first(credential, &server_nonce);
                self.state = State::ScramFinal(Box::new((exchange, credential.clone())));
                return AuthAnswer {
                    response: SaslAuthenticateResponse {
                        auth_bytes: first.into(),
                        ..Default::default()
                    },
                    close: false,
                };
            }
            State::ScramFinal(boxed) => {
                let (exchange, credential) = *boxed;
                match exchange.client_final(&credential, bytes, server.forge_server_signature) {
                    Ok(last) => {
                        return self.authenticated(&server, version, now, None, last.into());
                    }
                    Err(_) => Err(
                        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM"
                            .to_owned(),
                    ),
                }
            }
            State::OAuthFailing(why) => Err(why),
            State::Unauthenticated | State::Authenticated => {
                return failure(
                    ErrorCode::ILLEGAL_SASL_STATE,
                    "SaslAuthenticate without a SaslHandshake first",
                );
            }
        };
        match outcome {
            Ok(token_expiry) => {
                self.authenticated(&server, version, now, token_expiry, Bytes::new())
            }
            Err(why) => failure(ErrorCode::SASL_AUTHENTICATION_FAILED, &why),
        }
    }

    fn authenticated(
        &mut self,
        server: &SaslServer,
        version: i16,
        now: Instant,
        token_expiry: Option<Duration>,
        auth_bytes: Bytes,
    ) -> AuthAnswer {
        self.state = State::Authenticated;
        let lifetime = match (server.session_lifetime, token_expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // v0 cannot tell the client the lifetime, so it is not enforced there.
        let lifetime = lifetime.filter(|_| version >= 1);
        self.expires_at = lifetime.map(|l| now + l);
        AuthAnswer {
            response: SaslAuthenticateResponse {
                auth_bytes,
                session_lifetime_ms: lifetime
                    .map_or(0, |l| i64::try_from(l.as_millis()).unwrap_or(i64::MAX)),
                ..Default::default()
            },
            close: false,
        }
    }
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn failure(code: ErrorCode, message: &str) -> AuthAnswer {
    AuthAnswer {
        response: SaslAuthenticateResponse {
            error_code: code.0,
            error_message: Some(StrBytes::from_string(message.to_owned())),
            ..Default::default()
        },
        close: true,
    }
}

fn illegal_state_handshake() -> SaslHandshakeResponse {
    SaslHandshakeResponse {
        error_code: ErrorCode::ILLEGAL_SASL_STATE.0,
        ..Default::default()
    }
}

/// PLAIN (RFC 4616): `[authzid] \0 user \0 password`; the authzid, if given, must be the user.
fn plain(server: &SaslServer, bytes: &[u8]) -> Result<(), String> {
    let invalid = || "Authentication failed: Invalid username or password".to_owned();
    let mut parts = bytes.split(|&b| b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("Invalid SASL/PLAIN message".into());
    };
    let user = std::str::from_utf8(user).map_err(|_| invalid())?;
    if !authzid.is_empty() && authzid != user.as_bytes() {
        return Err("Authentication failed: authorization id does not match the user".into());
    }
    match server.users.get(user) {
        Some(u) if u.password.as_bytes() == password => Ok(()),
        _ => Err(invalid()),
    }
}

/// OAUTHBEARER (RFC 7628) with an unsecured JWT: `sub` must be a user, `exp` in the future.
/// Returns how long the token is still valid.
fn oauthbearer(server: &SaslServer, bytes: &[u8]) -> Result<Duration, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "invalid OAUTHBEARER message")?;
    let rest = text
        .strip_prefix("n,")
        .and_then(|r| r.split_once(','))
        .map(|(_, r)| r)
        .ok_or("invalid OAUTHBEARER message: no gs2 header")?;
    let token = rest
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth=Bearer "))
        .ok_or("invalid OAUTHBEARER message: no token")?;
    let mut parts = token.split('.');
    let (Some(_header), Some(payload)) = (parts.next(), parts.next()) else {
        return Err("the token is not a JWT".into());
    };
    let claims = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the token's claims are not base64url")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&claims).map_err(|_| "the token's claims are not JSON")?;
    let sub = claims
        .get("sub")
        .and_then(|s| s.as_str())
        .ok_or("the token has no sub claim")?;
    if !server.users.contains_key(sub) {
        return Err(format!("unknown principal '{sub}'"));
    }
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .ok_or("the token has no exp claim")?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if exp <= now {
        return Err("the token has expired".into());
    }
    Ok(Duration::from_secs_f64(exp - now))
}
