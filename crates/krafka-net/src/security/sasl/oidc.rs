//! KIP-768's OIDC client-credentials login, without I/O: the settings ([`OidcConfig`]), the
//! token request they make ([`OidcConfig::request`]), how an answer is read
//! ([`read_token_response`]: a token, a retriable failure or a final one) and the retry
//! schedule ([`RetrySchedule`]). The HTTP driver that sends the request (`OidcTokenProvider`,
//! behind the `oidc` cargo feature) only moves bytes.
//!
//! As Java's `OAuthBearerLoginCallbackHandler` and librdkafka's `sasl.oauthbearer.method=oidc`
//! do: POST `grant_type=client_credentials` (and `scope`) as a form to the token endpoint, the
//! client id and secret in HTTP Basic authentication (each form-url-encoded first, RFC 6749
//! §2.3.1); read `access_token` from the JSON answer; take the token's lifetime from its JWT
//! `exp` claim (unverified: the broker verifies the signature). An opaque (non-JWT) token is
//! accepted when the answer carries `expires_in`, which Java refuses. The answer is untrusted:
//! its size is bounded by the driver, every field is checked, and no secret (client secret,
//! token) is ever put into an error.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::oauthbearer::{OAuthBearerToken, TokenError};
use crate::security::{Secret, TlsConfig};

/// The largest token endpoint answer read (Java has no bound; tokens are a few KiB).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The OIDC client-credentials settings (Java's `sasl.oauthbearer.token.endpoint.url` with
/// the `OAuthBearerLoginModule` options `clientId`, `clientSecret`, `scope`; librdkafka's
/// `sasl.oauthbearer.client.id`, `.client.secret`, `.scope`, `.extensions`).
#[derive(Clone)]
pub struct OidcConfig {
    /// The token endpoint: `https://…` (or `http://…`, which sends the secret in the clear and
    /// is warned about), or `file://PATH`, a file holding the token, read at each refresh
    /// (Java's file token endpoint, for tokens mounted by the platform).
    pub token_endpoint: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Secret,
    /// The requested scope, if any.
    pub scope: Option<String>,
    /// SASL extensions sent with every token (Confluent Cloud's `logicalCluster`,
    /// `identityPoolId`).
    pub extensions: Vec<(String, String)>,
    /// The first wait after a failed request (Java's `sasl.login.retry.backoff.ms`, 100 ms);
    /// it doubles per failure.
    pub retry_backoff: Duration,
    /// The longest wait (Java's `sasl.login.retry.backoff.max.ms`, 10 s): once the wait would
    /// pass it, the attempt fails.
    pub retry_backoff_max: Duration,
    /// How long connecting to the endpoint may take (`sasl.login.connect.timeout.ms`, 10 s).
    pub connect_timeout: Duration,
    /// How long one request may take once connected (`sasl.login.read.timeout.ms`, 10 s).
    pub read_timeout: Duration,
    /// The trust for an `https` endpoint: the system's roots by default, or a CA bundle.
    pub tls: TlsConfig,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("scope", &self.scope)
            .field("extensions", &self.extensions)
            .field("retry_backoff", &self.retry_backoff)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .finish_non_exhaustive()
    }
}

/// Where a token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// An HTTP(S) token endpoint; `secure` is false for plain `http`.
    Http {
        /// The URL.
        url: String,
        /// Whether it is `https`.
        secure: bool,
    },
    /// A file holding the token.
    File(String),
}

/// The HTTP request for one token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Where to POST it.
    pub url: String,
    /// The `Authorization` header's value (`Basic …`).
    pub authorization: Secret,
    /// The `application/x-www-form-urlencoded` body.
    pub body: String,
}

impl OidcConfig {
    /// Client credentials for `token_endpoint`, with Java's defaults for the rest.
    pub fn client_credentials(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            extensions: Vec::new(),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            tls: TlsConfig::default(),
        }
    }

    /// Requests `scope`.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a SASL extension to every token.
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.push((key.into(), value.into()));
        self
    }

    /// The retry backoff: first wait and longest wait.
    pub fn with_retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.retry_backoff = first;
        self.retry_backoff_max = max;
        self
    }

    /// The trust for an `https` endpoint.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// The endpoint, checked: `https://`, `http://` or `file://`, and no user name or password
    /// in the URL (they would reach logs and errors; the credentials go in
    /// `client_id`/`client_secret`).
    pub fn endpoint(&self) -> Result<TokenEndpoint, TokenError> {
        let url = self.token_endpoint.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            TokenError("the token endpoint URL has no scheme (https://, http:// or file://)".into())
        })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            if rest.is_empty() {
                return Err(TokenError("the file token endpoint names no file".into()));
            }
            return Ok(TokenEndpoint::File(rest.to_owned()));
        }
        if scheme != "https" && scheme != "http" {
            return Err(TokenError(format!(
                "the token endpoint's scheme '{scheme}' is not https, http or file"
            )));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(TokenError(
                "the token endpoint URL carries credentials; give them as the client id and secret"
                    .into(),
            ));
        }
        if authority.is_empty() {
            return Err(TokenError("the token endpoint URL has no host".into()));
        }
        if self.client_id.is_empty() {
            return Err(TokenError("the OIDC client id is empty".into()));
        }
        Ok(TokenEndpoint::Http {
            url: url.to_owned(),
            secure: scheme == "https",
        })
    }

    /// The client-credentials request for `url`.
    pub fn request(&self, url: &str) -> TokenRequest {
        let credentials = format!(
            "{}:{}",
            form_encode(&self.client_id),
            form_encode(self.client_secret.expose())
        );
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = self.scope.as_deref().filter(|s| !s.is_empty()) {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        TokenRequest {
            url: url.to_owned(),
            authorization: Secret::new(format!("Basic {}", STANDARD.encode(credentials))),
            body,
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of `text` (unreserved characters stay, a space
/// becomes `+`, the rest `%XX`).
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What one answer from the token endpoint means.
#[derive(Debug)]
pub enum TokenAnswer {
    /// A token.
    Token(OAuthBearerToken),
    /// A failure worth another try (an I/O error, 5xx, 408, 429).
    Retry(TokenError),
    /// A failure another try will not mend (a refused client, a malformed answer).
    Fail(TokenError),
}

/// Reads the endpoint's answer: HTTP `status` with `body`, received at `now`.
pub fn read_token_response(
    config: &OidcConfig,
    status: u16,
    body: &[u8],
    now: SystemTime,
) -> TokenAnswer {
    if !(200..300).contains(&status) {
        let error = TokenError(format!(
            "the token endpoint answered HTTP {status}{}",
            oauth_error(body)
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
        return if status >= 500 || status == 408 || status == 429 {
            TokenAnswer::Retry(error)
        } else {
            TokenAnswer::Fail(error)
        };
    }
    match token_from_json(config, body, now) {
        Ok(token) => TokenAnswer::Token(token),
        Err(e) => TokenAnswer::Fail(e),
    }
}

/// RFC 6749 §5.2's `error` and `error_description`, if the body has them (bounded, printable).
fn oauth_error(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
    };
    match (field("error"), field("error_description")) {
        (Some(e), Some(d)) => Some(format!("{e} ({d})")),
        (Some(e), None) => Some(e),
        _ => None,
    }
}

fn token_from_json(
    config: &OidcConfig,
    body: &[u8],
    now: SystemTime,
) -> Result<OAuthBearerToken, TokenError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| TokenError(format!("the token endpoint's answer is not JSON ({e})")))?;
    let access_token = value
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError("the token endpoint's answer has no access_token".into()))?;
    let expires_in = value.get("expires_in").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    token_from_value(config, access_token, expires_in, now)
}

/// A token from its text: its lifetime from the JWT `exp` claim, or from `expires_in`
/// (seconds) for an opaque token.
pub fn token_from_value(
    config: &OidcConfig,
    access_token: &str,
    expires_in: Option<u64>,
    now: SystemTime,
) -> Result<OAuthBearerToken, TokenError> {
    let access_token = access_token.trim();
    if access_token.is_empty() || !access_token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(TokenError(
            "the access token is empty or has characters a bearer token cannot have".into(),
        ));
    }
    let expires_at = match jwt_expiry(access_token)? {
        Some(exp) => exp,
        None => {
            let seconds = expires_in.ok_or_else(|| {
                TokenError("the access token is not a JWT and the answer has no expires_in".into())
            })?;
            now.checked_add(Duration::from_secs(seconds))
                .ok_or_else(|| TokenError("expires_in is out of range".into()))?
        }
    };
    if expires_at <= now {
        return Err(TokenError("the access token has already expired".into()));
    }
    Ok(OAuthBearerToken {
        value: Secret::new(access_token),
        expires_at,
        extensions: config.extensions.clone(),
    })
}

/// The `exp` of a JWT (`header.claims.signature`), `None` if `token` is not shaped as one,
/// and an error if it is but its claims are unreadable or lack `exp`.
fn jwt_expiry(token: &str) -> Result<Option<SystemTime>, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Ok(None);
    }
    let Ok(claims) = URL_SAFE_NO_PAD.decode(parts[1].trim_end_matches('=')) else {
        return Ok(None);
    };
    let claims: serde_json::Value = serde_json::from_slice(&claims)
        .map_err(|_| TokenError("the JWT's claims are not JSON".into()))?;
    let exp = claims
        .get("exp")
        .and_then(|v| v.as_f64())
        .filter(|e| e.is_finite() && *e > 0.0 && *e < 1e11)
        .ok_or_else(|| TokenError("the JWT has no usable exp claim".into()))?;
    Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(exp)))
}

/// The waits between attempts: `first`, doubling, until the next would pass `max`.
#[derive(Debug, Clone)]
pub struct RetrySchedule {
    next: Duration,
    max: Duration,
}

impl RetrySchedule {
    /// The schedule of `config`.
    pub fn new(config: &OidcConfig) -> Self {
        Self {
            next: config.retry_backoff.max(Duration::from_millis(1)),
            max: config.retry_backoff_max,
        }
    }

    /// The wait before the next attempt after a failure, or `None` when the attempts are spent.
    pub fn after_failure(&mut self) -> Option<Duration> {
        if self.next > self.max {
            return None;
        }
        let wait = self.next;
        self.next = self.next.saturating_mul(2);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcConfig {
        OidcConfig::client_credentials("https://idp.example/oauth2/token", "my client", "s3cr&t")
            .with_scope("kafka produce")
            .with_extension("logicalCluster", "lkc-1")
    }

    fn jwt(exp: u64) -> String {
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"svc","exp":{exp}}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln")
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn the_request_is_rfc6749s_client_credentials_grant() {
        let request = config().request("https://idp.example/oauth2/token");
        assert_eq!(
            request.body,
            "grant_type=client_credentials&scope=kafka+produce"
        );
        // Basic base64("my+client:s3cr%26t"): each part form-encoded first (RFC 6749 §2.3.1).
        assert_eq!(
            request.authorization.expose(),
            format!("Basic {}", STANDARD.encode("my+client:s3cr%26t"))
        );
        assert!(!format!("{request:?}").contains("Basic"));
        assert!(!format!("{:?}", config()).contains("s3cr"));
    }

    #[test]
    fn endpoints_are_checked() {
        let with = |url: &str| OidcConfig::client_credentials(url, "c", "s").endpoint();
        assert_eq!(
            with("https://idp/token").unwrap(),
            TokenEndpoint::Http {
                url: "https://idp/token".into(),
                secure: true
            }
        );
        assert!(matches!(
            with("http://127.0.0.1:8080/t").unwrap(),
            TokenEndpoint::Http { secure: false, .. }
        ));
        assert_eq!(
            with("file:///var/run/token").unwrap(),
            TokenEndpoint::File("/var/run/token".into())
        );
        let refused = with("https://user:pw@idp/token").unwrap_err().0;
        assert!(
            refused.contains("credentials") && !refused.contains("pw"),
            "{refused}"
        );
        assert!(with("ftp://idp/t").is_err());
        assert!(with("idp/t").is_err());
        assert!(with("https:///t").is_err());
        assert!(
            OidcConfig::client_credentials("https://idp/t", "", "s")
                .endpoint()
                .is_err()
        );
    }

    #[test]
    fn a_jwt_answer_gives_a_token_expiring_at_its_exp_claim() {
        let body = format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":60}}"#,
            jwt(2_000)
        );
        let TokenAnswer::Token(token) =
            read_token_response(&config(), 200, body.as_bytes(), at(1_000))
        else {
            panic!("no token");
        };
        assert_eq!(token.value.expose(), jwt(2_000));
        // exp wins over expires_in, as Java reads the JWT.
        assert_eq!(token.expires_at, at(2_000));
        assert_eq!(
            token.extensions,
            [("logicalCluster".into(), "lkc-1".into())]
        );
    }

    #[test]
    fn an_opaque_token_needs_expires_in() {
        let ok = read_token_response(
            &config(),
            200,
            br#"{"access_token":"opaque-123","expires_in":"300"}"#,
            at(1_000),
        );
        assert!(matches!(ok, TokenAnswer::Token(t) if t.expires_at == at(1_300)));
        let no_expiry =
            read_token_response(&config(), 200, br#"{"access_token":"opaque"}"#, at(1_000));
        assert!(matches!(no_expiry, TokenAnswer::Fail(e) if e.0.contains("expires_in")));
    }

    #[test]
    fn bad_answers_are_final_errors_that_quote_no_token() {
        for body in [
            &b"not json"[..],
            br#"{"token":"x"}"#,
            br#"{"access_token":""}"#,
            br#"{"access_token":"has space","expires_in":5}"#,
            br#"{"access_token":"a.eyJzdWIiOiJ4In0.c","expires_in":5}"#, // JWT without exp
            br#"{"access_token":"a.bm90IGpzb24.c"}"#,                    // claims not JSON
        ] {
            match read_token_response(&config(), 200, body, at(1_000)) {
                TokenAnswer::Fail(e) => assert!(!e.0.contains("has space"), "{e}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let expired = format!(r#"{{"access_token":"{}"}}"#, jwt(500));
        assert!(matches!(
            read_token_response(&config(), 200, expired.as_bytes(), at(1_000)),
            TokenAnswer::Fail(e) if e.0.contains("expired")
        ));
    }

    #[test]
    fn http_errors_carry_the_oauth_error_and_retry_only_when_it_may_help() {
        let refused = read_token_response(
            &config(),
            401,
            br#"{"error":"invalid_client","error_description":"bad secret"}"#,
            at(0),
        );
        assert!(
            matches!(&refused, TokenAnswer::Fail(e) if e.0 == "the token endpoint answered HTTP 401: invalid_client (bad secret)"),
            "{refused:?}"
        );
        for status in [500, 503, 408, 429] {
            assert!(matches!(
                read_token_response(&config(), status, b"", at(0)),
                TokenAnswer::Retry(_)
            ));
        }
        assert!(matches!(
            read_token_response(&config(), 404, b"<html>", at(0)),
            TokenAnswer::Fail(e) if e.0 == "the token endpoint answered HTTP 404"
        ));
    }

    #[test]
    fn retries_double_until_the_maximum() {
        let config =
            config().with_retry_backoff(Duration::from_millis(100), Duration::from_millis(1000));
        let mut schedule = RetrySchedule::new(&config);
        let waits: Vec<u64> = std::iter::from_fn(|| schedule.after_failure())
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800]);
    }
}
