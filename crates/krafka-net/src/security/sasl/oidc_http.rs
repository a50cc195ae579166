//! The thin driver of the OIDC client-credentials login (the `oidc` cargo feature): sends the
//! request [`OidcConfig::request`] builds with reqwest, over rustls with Krafka's own trust
//! settings, reads at most [`MAX_RESPONSE_BYTES`] of the answer, and lets
//! [`read_token_response`] decide; retriable failures wait out the [`RetrySchedule`]. reqwest
//! is the HTTP client the Rust ecosystem trusts most (hyper underneath), and it takes a
//! preconfigured rustls configuration, so no second TLS stack or trust store comes in.

use std::time::SystemTime;

use reqwest::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};

use super::oauthbearer::{OAuthBearerToken, OAuthBearerTokenProvider, TokenError, TokenFuture};
use super::oidc::{
    MAX_RESPONSE_BYTES, OidcConfig, RetrySchedule, TokenAnswer, TokenEndpoint, read_token_response,
    token_from_value,
};

/// OAUTHBEARER tokens from an OIDC token endpoint with the client-credentials grant (KIP-768),
/// as Java's `OAuthBearerLoginCallbackHandler` and librdkafka's `sasl.oauthbearer.method=oidc`
/// get them. Give it to [`SaslConfig::oauthbearer`](crate::SaslConfig::oauthbearer); the
/// client's token cache asks it again at 80% of each token's lifetime.
#[derive(Debug)]
pub struct OidcTokenProvider {
    config: OidcConfig,
    endpoint: TokenEndpoint,
    http: reqwest::Client,
}

impl OidcTokenProvider {
    /// A provider for `config`; fails on a malformed endpoint or unusable trust settings.
    pub fn new(config: OidcConfig) -> Result<Self, TokenError> {
        let endpoint = config.endpoint()?;
        if let TokenEndpoint::Http { url, secure: false } = &endpoint {
            tracing::warn!(
                endpoint = %url,
                "the OIDC token endpoint is plain http: the client secret and tokens travel unencrypted"
            );
        }
        let tls = config
            .tls
            .client_config()
            .map_err(|e| TokenError(format!("TLS for the token endpoint: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .connect_timeout(config.connect_timeout)
            // Per read, as Java's `sasl.login.read.timeout.ms` is a socket read timeout.
            .read_timeout(config.read_timeout)
            // A token endpoint that redirects is misconfigured; following it would send the
            // client secret somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TokenError(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(Self {
            config,
            endpoint,
            http,
        })
    }

    /// One attempt.
    async fn attempt(&self) -> TokenAnswer {
        match &self.endpoint {
            TokenEndpoint::Http { url, .. } => self.post(url).await,
            TokenEndpoint::File(path) => match read_file(path).await {
                Ok(text) => match token_from_value(&self.config, &text, None, SystemTime::now()) {
                    Ok(token) => TokenAnswer::Token(token),
                    Err(e) => TokenAnswer::Fail(TokenError(format!("{path}: {}", e.0))),
                },
                Err(e) => TokenAnswer::Fail(e),
            },
        }
    }

    async fn post(&self, url: &str) -> TokenAnswer {
        let request = self.config.request(url);
        let Ok(mut authorization) = HeaderValue::from_str(request.authorization.expose()) else {
            return TokenAnswer::Fail(TokenError(
                "the client credentials cannot be sent in an HTTP header".into(),
            ));
        };
        authorization.set_sensitive(true);
        let sent = self
            .http
            .post(url)
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(CACHE_CONTROL, "no-cache")
            .body(request.body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                return TokenAnswer::Retry(TokenError(format!(
                    "cannot reach the token endpoint {url}: {}",
                    chain(&e.without_url())
                )));
            }
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > MAX_RESPONSE_BYTES => {
                    return TokenAnswer::Fail(TokenError(format!(
                        "the token endpoint's answer is larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    return TokenAnswer::Retry(TokenError(format!(
                        "reading the token endpoint's answer: {}",
                        chain(&e.without_url())
                    )));
                }
            }
        }
        read_token_response(&self.config, status, &body, SystemTime::now())
    }
}

impl OAuthBearerTokenProvider for OidcTokenProvider {
    /// Attempts until a token, a final failure, or the retry schedule is spent.
    /// Cancel-safe: dropping it abandons the request; nothing is cached here.
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut schedule = RetrySchedule::new(&self.config);
            loop {
                match self.attempt().await {
                    TokenAnswer::Token(token) => return Ok::<OAuthBearerToken, _>(token),
                    TokenAnswer::Fail(e) => return Err(e),
                    TokenAnswer::Retry(e) => match schedule.after_failure() {
                        Some(wait) => {
                            tracing::debug!(error = %e, ?wait, "OIDC token request failed; retrying");
                            tokio::time::sleep(wait).await;
                        }
                        None => return Err(e),
                    },
                }
            }
        })
    }
}

/// A token file's text, refusing files larger than a token endpoint answer may be.
async fn read_file(path: &str) -> Result<String, TokenError> {
    let unreadable =
        |e: std::io::Error| TokenError(format!("cannot read the token file {path}: {e}"));
    let size = tokio::fs::metadata(path).await.map_err(unreadable)?.len();
    if size > MAX_RESPONSE_BYTES as u64 {
        return Err(TokenError(format!(
            "the token file {path} is larger than {MAX_RESPONSE_BYTES} bytes"
        )));
    }
    let bytes = tokio::fs::read(path).await.map_err(unreadable)?;
    String::from_utf8(bytes).map_err(|_| TokenError(format!("the token file {path} is not UTF-8")))
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
