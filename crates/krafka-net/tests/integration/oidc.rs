//! KIP-768 end to end: `OidcTokenProvider` gets tokens from a local HTTP token endpoint (a
//! scripted server on 127.0.0.1, port 0) with the client-credentials grant, and authenticates
//! with them against krafka-mock's OAUTHBEARER; failures the endpoint answers are retried or
//! not as Java retries them, and none of them hangs or leaks the client secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use krafka_mock::{MockCluster, MockSasl, SaslMechanismName};
use krafka_net::security::{OidcConfig, OidcTokenProvider};
use krafka_net::{BrokerConnection, ConnectionConfig, NetError, SaslConfig, SecurityConfig};
use krafka_protocol::messages::MetadataRequest;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "s3cret&more";

/// What the endpoint answers, in order (the last answer repeats), and what it was sent.
#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    seen: Vec<(String, String)>,
}

#[derive(Clone)]
enum Answer {
    Http(u16, String),
    /// Accept the request, never answer.
    Silence,
}

/// A token endpoint on a free port; returns its URL and the script it follows.
async fn token_endpoint(answers: Vec<Answer>) -> (String, Arc<Mutex<Script>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let script = Arc::new(Mutex::new(Script {
        answers: answers.into(),
        seen: Vec::new(),
    }));
    let shared = script.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let script = shared.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let (head, body_start) = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (
                            String::from_utf8_lossy(&request[..end]).to_string(),
                            end + 4,
                        );
                    }
                };
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                        })
                        .unwrap_or_default()
                };
                let length: usize = header("content-length").parse().unwrap_or(0);
                while request.len() < body_start + length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let body = String::from_utf8_lossy(&request[body_start..]).to_string();
                assert!(head.starts_with("POST /oauth2/token "), "{head}");
                assert_eq!(header("content-type"), "application/x-www-form-urlencoded");
                let answer = {
                    let mut s = script.lock();
                    s.seen.push((header("authorization"), body));
                    if s.answers.len() > 1 {
                        s.answers.pop_front().unwrap()
                    } else {
                        s.answers.front().cloned().unwrap()
                    }
                };
                match answer {
                    Answer::Http(status, body) => {
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                    }
                    Answer::Silence => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    (url, script)
}

/// A JWT (signature not checked by the mock, as a broker's unsecured validator) for `sub`.
fn jwt(sub: &str, lifetime: Duration) -> String {
    let exp = (SystemTime::now() + lifetime)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","exp":{exp}}}"#));
    format!("eyJhbGciOiJSUzI1NiJ9.{claims}.c2lnbmF0dXJl")
}

fn token_answer(sub: &str) -> Answer {
    Answer::Http(
        200,
        format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600}}"#,
            jwt(sub, Duration::from_secs(3600))
        ),
    )
}

fn oidc(url: &str) -> OidcConfig {
    let mut config = OidcConfig::client_credentials(url, "client-1", SECRET)
        .with_scope("kafka")
        .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(40));
    config.read_timeout = Duration::from_millis(300);
    config
}

async fn cluster() -> MockCluster {
    MockCluster::builder()
        .topic("t", 1)
        .sasl(MockSasl::new(vec![SaslMechanismName::OAuthBearer]).user("alice", "unused"))
        .start()
        .await
        .unwrap()
}

async fn connect(cluster: &MockCluster, config: OidcConfig) -> Result<BrokerConnection, NetError> {
    let provider = OidcTokenProvider::new(config).unwrap();
    let security = SecurityConfig::sasl_plaintext(SaslConfig::oauthbearer(Arc::new(provider)));
    let config = ConnectionConfig::builder()
        .security(security)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    BrokerConnection::connect(&cluster.broker_addrs()[0].to_string(), Arc::new(config)).await
}

#[tokio::test]
async fn a_token_from_the_endpoint_authenticates_and_the_request_is_the_client_credentials_grant() {
    let cluster = cluster().await;
    let (url, script) = token_endpoint(vec![token_answer("alice")]).await;
    let conn = connect(&cluster, oidc(&url)).await.unwrap();
    let metadata = conn
        .send_negotiated(&MetadataRequest::default())
        .await
        .unwrap();
    assert_eq!(metadata.brokers.len(), 1);
    let seen = script.lock().seen.clone();
    assert_eq!(seen.len(), 1);
    let (authorization, body) = &seen[0];
    // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
    assert_eq!(
        *authorization,
        format!("Basic {}", STANDARD.encode("client-1:s3cret%26more"))
    );
    assert_eq!(body, "grant_type=client_credentials&scope=kafka");
}

#[tokio::test]
async fn server_errors_are_retried_and_a_refused_client_is_not() {
    let cluster = cluster().await;
    let (url, script) = token_endpoint(vec![
        Answer::Http(503, String::new()),
        Answer::Http(429, String::new()),
        token_answer("alice"),
    ])
    .await;
    connect(&cluster, oidc(&url)).await.unwrap();
    assert_eq!(script.lock().seen.len(), 3);

    let (url, script) = token_endpoint(vec![Answer::Http(
        401,
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#.into(),
    )])
    .await;
    let error = connect(&cluster, oidc(&url)).await.unwrap_err();
    let text = error.to_string();
    assert!(error.is_security_failure(), "{text}");
    assert!(
        text.contains("HTTP 401") && text.contains("invalid_client"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert_eq!(script.lock().seen.len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_silent_or_failing_endpoint_fails_in_bounded_time() {
    let cluster = cluster().await;
    let (url, script) = token_endpoint(vec![Answer::Silence]).await;
    let started = Instant::now();
    let error = connect(&cluster, oidc(&url)).await.unwrap_err();
    // 10, 20, 40 ms of backoff: four attempts of at most 300 ms each.
    assert!(started.elapsed() < Duration::from_secs(5), "{error}");
    assert!(error.to_string().contains("token endpoint"), "{error}");
    assert_eq!(script.lock().seen.len(), 4);

    // A token for a principal the broker does not know: the broker's refusal.
    let (url, _) = token_endpoint(vec![token_answer("mallory")]).await;
    let error = connect(&cluster, oidc(&url)).await.unwrap_err();
    assert!(error.to_string().contains("mallory"), "{error}");

    // An answer larger than any token answer is refused, not buffered.
    let (url, _) = token_endpoint(vec![Answer::Http(200, "x".repeat(2 << 20))]).await;
    let error = connect(&cluster, oidc(&url)).await.unwrap_err();
    assert!(error.to_string().contains("larger than"), "{error}");
}

#[tokio::test]
async fn a_token_file_endpoint_is_read_at_each_login() {
    let cluster = cluster().await;
    let dir = std::env::temp_dir().join(format!("krafka-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(
        &file,
        format!("{}\n", jwt("alice", Duration::from_secs(600))),
    )
    .unwrap();
    let url = format!("file://{}", file.display());
    connect(&cluster, oidc(&url)).await.unwrap();
    std::fs::write(&file, "not-a-jwt").unwrap();
    let error = connect(&cluster, oidc(&url)).await.unwrap_err();
    assert!(error.to_string().contains("not a JWT"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
