//! OAUTHBEARER (KIP-255, RFC 7628): the token provider trait the application implements, the
//! cache that asks it again before a token expires, a static / unsecured provider for tests
//! and development, and the client side of the one-message exchange.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;

use super::step::{Reply, SaslFailure};
use crate::security::Secret;

/// A bearer token and when it stops being valid.
#[derive(Clone)]
pub struct OAuthBearerToken {
    /// The token itself (a JWT, usually).
    pub value: Secret,
    /// When the broker stops accepting it.
    pub expires_at: SystemTime,
    /// SASL extensions sent with it (`sasl.oauthbearer.extensions`; Confluent Cloud's
    /// `logicalCluster` and `identityPoolId` are such).
    pub extensions: Vec<(String, String)>,
}

impl fmt::Debug for OAuthBearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerToken")
            .field("value", &"***")
            .field("expires_at", &self.expires_at)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// Why a token could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError(pub String);

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no OAUTHBEARER token: {}", self.0)
    }
}

impl std::error::Error for TokenError {}

/// The future a provider returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<OAuthBearerToken, TokenError>> + Send + 'a>>;

/// Where OAUTHBEARER tokens come from: implement it to fetch tokens from an identity provider
/// (Java's `sasl.login.callback.handler.class`). It is called when a connection authenticates
/// and no cached token is fresh: a token is reused until 80% of its lifetime has passed (Java's
/// `sasl.login.refresh.window.factor`), so it is replaced before it expires.
///
/// Cancel-safety: a call may be dropped when the connection attempt it serves times out.
pub trait OAuthBearerTokenProvider: Send + Sync + fmt::Debug {
    /// A fresh token.
    fn token(&self) -> TokenFuture<'_>;
}

/// A provider for tests and development: a fixed token, or an unsecured JWT (`alg: none`) for
/// a principal, as Kafka's default unsecured login module makes them
/// (`unsecuredLoginStringClaim_sub`). Production clusters refuse unsecured tokens.
#[derive(Debug, Clone)]
pub struct StaticTokenProvider {
    kind: StaticKind,
    lifetime: Duration,
    extensions: Vec<(String, String)>,
}

#[derive(Clone)]
enum StaticKind {
    Fixed(Secret),
    Unsecured { principal: String },
}

impl fmt::Debug for StaticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(_) => f.write_str("Fixed(***)"),
            Self::Unsecured { principal } => write!(f, "Unsecured({principal})"),
        }
    }
}

impl StaticTokenProvider {
    /// Always `token`, said to expire `lifetime` after each call.
    pub fn fixed(token: impl Into<Secret>, lifetime: Duration) -> Self {
        Self {
            kind: StaticKind::Fixed(token.into()),
            lifetime,
            extensions: Vec::new(),
        }
    }

    /// An unsecured JWT with `sub` = `principal`, issued at each call, valid for `lifetime`.
    pub fn unsecured(principal: impl Into<String>, lifetime: Duration) -> Self {
        Self {
            kind: StaticKind::Unsecured {
                principal: principal.into(),
            },
            lifetime,
            extensions: Vec::new(),
        }
    }

    /// Adds a SASL extension to every token.
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.push((key.into(), value.into()));
        self
    }

    fn make(&self) -> OAuthBearerToken {
        let now = SystemTime::now();
        let expires_at = now + self.lifetime;
        let value = match &self.kind {
            StaticKind::Fixed(token) => token.clone(),
            StaticKind::Unsecured { principal } => {
                let seconds = |t: SystemTime| {
                    t.duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                };
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
                let claims = format!(
                    r#"{{"sub":{},"iat":{},"exp":{}}}"#,
                    json_string(principal),
                    seconds(now),
                    seconds(expires_at)
                );
                Secret::new(format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims)))
            }
        };
        OAuthBearerToken {
            value,
            expires_at,
            extensions: self.extensions.clone(),
        }
    }
}

impl OAuthBearerTokenProvider for StaticTokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.make();
        Box::pin(async move { Ok(token) })
    }
}

/// A JSON string literal for `s`.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A provider's tokens, cached for every connection of one client.
#[derive(Clone)]
pub struct TokenCache {
    provider: Arc<dyn OAuthBearerTokenProvider>,
    /// Guards: the last token and when it was fetched. Never held across an `.await`.
    cached: Arc<Mutex<Option<(OAuthBearerToken, SystemTime)>>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// The share of a token's lifetime after which it is fetched again (Java's
/// `sasl.login.refresh.window.factor`).
const REFRESH_FACTOR: f64 = 0.8;

impl TokenCache {
    /// A cache over `provider`.
    pub fn new(provider: Arc<dyn OAuthBearerTokenProvider>) -> Self {
        Self {
            provider,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// A token fresh at `now`: the cached one until 80% of its lifetime has passed, then a new
    /// one from the provider. Cancel-safe: dropping it leaves the cache as it was.
    pub async fn token(&self, now: SystemTime) -> Result<OAuthBearerToken, TokenError> {
        let cached = self.cached.lock().clone();
        if let Some((token, _)) = cached.filter(|(t, fetched)| is_fresh(t, *fetched, now)) {
            return Ok(token);
        }
        let token = self.provider.token().await?;
        if token.value.is_empty() {
            return Err(TokenError("the provider returned an empty token".into()));
        }
        *self.cached.lock() = Some((token.clone(), now));
        Ok(token)
    }
}

fn is_fresh(token: &OAuthBearerToken, fetched: SystemTime, now: SystemTime) -> bool {
    let Ok(lifetime) = token.expires_at.duration_since(fetched) else {
        return false;
    };
    let refresh_at = fetched + lifetime.mul_f64(REFRESH_FACTOR);
    now < refresh_at
}

/// The client side of one OAUTHBEARER exchange.
#[derive(Debug)]
pub struct OAuthBearerClient {
    message: Option<Secret>,
    /// The server's error challenge, once it sent one.
    server_error: Option<String>,
}

impl OAuthBearerClient {
    /// The exchange for `token`. Refuses tokens and extensions that would break the message
    /// format (RFC 7628: `\x01` separates its parts).
    pub fn new(token: &OAuthBearerToken) -> Result<Self, SaslFailure> {
        let value = token.value.expose();
        if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(SaslFailure::new(
                "the token has characters a bearer token cannot have",
            ));
        }
        let mut message = format!("n,,\x01auth=Bearer {value}");
        for (key, v) in &token.extensions {
            if key == "auth" || key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(SaslFailure::new(format!(
                    "SASL extension name '{key}' is not allowed (letters only, not 'auth')"
                )));
            }
            if !v
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                return Err(SaslFailure::new(format!(
                    "SASL extension '{key}' has a value with characters it cannot have"
                )));
            }
            message.push('\x01');
            message.push_str(key);
            message.push('=');
            message.push_str(v);
        }
        message.push_str("\x01\x01");
        Ok(Self {
            message: Some(Secret::new(message)),
            server_error: None,
        })
    }

    /// The one message.
    pub fn first_message(&mut self) -> Result<Vec<u8>, SaslFailure> {
        self.message
            .take()
            .map(|m| m.expose().as_bytes().to_vec())
            .ok_or_else(|| SaslFailure::new("OAUTHBEARER message asked for twice"))
    }

    /// An empty answer is success; a non-empty one is the server's error (JSON), which
    /// RFC 7628 has the client acknowledge with a single `\x01` before the server fails.
    pub fn on_challenge(&mut self, challenge: &[u8]) -> Result<Reply, SaslFailure> {
        if challenge.is_empty() {
            return Ok(Reply::Done);
        }
        if self.server_error.is_some() {
            return Err(SaslFailure::new("OAUTHBEARER server sent a second error"));
        }
        let text = String::from_utf8_lossy(challenge);
        let text: String = text.chars().take(512).collect();
        self.server_error = Some(text);
        Ok(Reply::Send(vec![0x01]))
    }

    /// The error the server sent, if any.
    pub fn server_error(&self) -> Option<&str> {
        self.server_error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> OAuthBearerToken {
        OAuthBearerToken {
            value: Secret::new(value),
            expires_at: SystemTime::now() + Duration::from_secs(60),
            extensions: vec![("logicalCluster".into(), "lkc-1".into())],
        }
    }

    #[test]
    fn the_message_is_rfc7628s() {
        let mut c = OAuthBearerClient::new(&token("abc.def.")).unwrap();
        assert_eq!(
            c.first_message().unwrap(),
            b"n,,\x01auth=Bearer abc.def.\x01logicalCluster=lkc-1\x01\x01"
        );
        assert_eq!(c.on_challenge(b"").unwrap(), Reply::Done);
    }

    #[test]
    fn an_error_challenge_is_acknowledged_once() {
        let mut c = OAuthBearerClient::new(&token("t")).unwrap();
        c.first_message().unwrap();
        assert_eq!(
            c.on_challenge(br#"{"status":"invalid_token"}"#).unwrap(),
            Reply::Send(vec![1])
        );
        assert_eq!(c.server_error(), Some(r#"{"status":"invalid_token"}"#));
        assert!(c.on_challenge(b"again").is_err());
    }

    #[test]
    fn injection_is_refused() {
        assert!(OAuthBearerClient::new(&token("a\x01auth=Bearer b")).is_err());
        let mut t = token("ok");
        t.extensions = vec![("auth".into(), "x".into())];
        assert!(OAuthBearerClient::new(&t).is_err());
        t.extensions = vec![("k".into(), "a\x01b".into())];
        assert!(OAuthBearerClient::new(&t).is_err());
    }

    #[test]
    fn unsecured_tokens_carry_the_principal() {
        let provider = StaticTokenProvider::unsecured("alice", Duration::from_secs(3600));
        let t = provider.make();
        let parts: Vec<&str> = t.value.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert!(claims.starts_with(r#"{"sub":"alice","iat":"#), "{claims}");
    }

    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicU32);

    impl OAuthBearerTokenProvider for Counting {
        fn token(&self) -> TokenFuture<'_> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                Ok(OAuthBearerToken {
                    value: Secret::new(format!("token-{n}")),
                    expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1000),
                    extensions: Vec::new(),
                })
            })
        }
    }

    #[tokio::test]
    async fn tokens_are_fetched_again_at_80_percent_of_their_life() {
        let provider = Arc::new(Counting::default());
        let cache = TokenCache::new(provider.clone());
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(cache.token(at(0)).await.unwrap().value.expose(), "token-0");
        assert_eq!(
            cache.token(at(799)).await.unwrap().value.expose(),
            "token-0"
        );
        assert_eq!(
            cache.token(at(800)).await.unwrap().value.expose(),
            "token-1"
        );
    }
}
