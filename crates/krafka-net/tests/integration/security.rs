//! TLS and SASL against krafka-mock's secured listeners: every security protocol and
//! mechanism, and every way it can go wrong (wrong password, mechanism not enabled, a broker
//! that cannot prove it knows the password, untrusted, misnamed and expired certificates,
//! mutual TLS, TLS and plaintext ports confused).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_mock::{MockCluster, MockSasl, MockTls, SaslMechanismName, TestPki};
use krafka_net::security::StaticTokenProvider;
use krafka_net::{
    BrokerConnection, ConnectionConfig, NetError, PemSource, RequestPriority, SaslConfig,
    SecurityConfig, SecurityProtocol, TlsConfig,
};
use krafka_protocol::messages::MetadataRequest;
use krafka_protocol::{ApiKey, Encode};

fn tls_for(pki: &TestPki) -> TlsConfig {
    TlsConfig::default().with_ca(PemSource::inline(pki.ca_pem.clone()))
}

fn config(security: SecurityConfig) -> Arc<ConnectionConfig> {
    Arc::new(
        ConnectionConfig::builder()
            .security(security)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    )
}

async fn cluster(tls: Option<MockTls>, sasl: Option<MockSasl>) -> MockCluster {
    let mut builder = MockCluster::builder().topic("t", 1);
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    if let Some(sasl) = sasl {
        builder = builder.sasl(sasl);
    }
    builder.start().await.unwrap()
}

fn addr(cluster: &MockCluster) -> String {
    cluster.broker_addrs()[0].to_string()
}

fn users() -> MockSasl {
    MockSasl::all().user("alice", "alice-secret")
}

/// A Metadata request answered proves the connection carries requests after the handshake.
async fn metadata_works(conn: &BrokerConnection) {
    let response = conn
        .send_negotiated(&MetadataRequest {
            topics: None,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(response.topics.len(), 1);
}

/// Puts `n` Metadata requests in flight at once, then waits for every answer; returns how many
/// were answered.
async fn pipelined_metadata(conn: &BrokerConnection, n: u32) -> u32 {
    let version = conn.api_version(ApiKey::METADATA).unwrap();
    let mut waiting = Vec::new();
    for _ in 0..n {
        let request = MetadataRequest {
            topics: None,
            ..Default::default()
        };
        waiting.push(
            conn.enqueue(
                ApiKey::METADATA,
                version,
                RequestPriority::Normal,
                0,
                move |b| request.encode(b, version),
            )
            .await
            .unwrap(),
        );
    }
    for w in waiting {
        w.await.unwrap();
    }
    n
}

async fn connect(
    cluster: &MockCluster,
    security: SecurityConfig,
) -> Result<BrokerConnection, NetError> {
    BrokerConnection::connect(&addr(cluster), config(security)).await
}

#[tokio::test]
async fn ssl_carries_requests() {
    let pki = TestPki::generate().unwrap();
    let cluster = cluster(Some(MockTls::new(pki.clone())), None).await;
    let conn = connect(&cluster, SecurityConfig::ssl(tls_for(&pki)))
        .await
        .unwrap();
    metadata_works(&conn).await;
    // Many requests in flight at once go through the lanes and coalesced writes over TLS.
    assert_eq!(pipelined_metadata(&conn, 300).await, 300);
    assert!(conn.is_usable());
}

#[tokio::test]
async fn every_mechanism_over_sasl_ssl_and_sasl_plaintext() {
    let pki = TestPki::generate().unwrap();
    let tls_cluster = cluster(Some(MockTls::new(pki.clone())), Some(users())).await;
    let plain_cluster = cluster(None, Some(users())).await;
    let mechanisms = || {
        vec![
            SaslConfig::plain("alice", "alice-secret"),
            SaslConfig::scram_sha256("alice", "alice-secret"),
            SaslConfig::scram_sha512("alice", "alice-secret"),
            SaslConfig::oauthbearer(Arc::new(StaticTokenProvider::unsecured(
                "alice",
                Duration::from_secs(3600),
            ))),
        ]
    };
    for sasl in mechanisms() {
        let name = sasl.mechanism.name();
        let conn = connect(&tls_cluster, SecurityConfig::sasl_ssl(tls_for(&pki), sasl))
            .await
            .unwrap_or_else(|e| panic!("SASL_SSL {name}: {e}"));
        metadata_works(&conn).await;
    }
    for sasl in mechanisms() {
        let name = sasl.mechanism.name();
        let conn = connect(&plain_cluster, SecurityConfig::sasl_plaintext(sasl))
            .await
            .unwrap_or_else(|e| panic!("SASL_PLAINTEXT {name}: {e}"));
        metadata_works(&conn).await;
    }
}

#[tokio::test]
async fn wrong_credentials_fail_with_the_brokers_message_and_are_not_retriable() {
    let cluster = cluster(None, Some(users())).await;
    for sasl in [
        SaslConfig::plain("alice", "wrong"),
        SaslConfig::scram_sha256("alice", "wrong"),
        SaslConfig::scram_sha512("mallory", "alice-secret"),
        SaslConfig::oauthbearer(Arc::new(StaticTokenProvider::unsecured(
            "mallory",
            Duration::from_secs(3600),
        ))),
    ] {
        let name = sasl.mechanism.name();
        let started = Instant::now();
        let err = connect(&cluster, SecurityConfig::sasl_plaintext(sasl))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{name} took {:?}",
            started.elapsed()
        );
        let NetError::Authentication {
            mechanism, message, ..
        } = &err
        else {
            panic!("{name}: expected an authentication error, got {err}");
        };
        assert_eq!(*mechanism, name);
        assert!(!message.is_empty());
        assert!(!err.is_retriable() && err.is_security_failure());
        let text = err.to_string();
        assert!(
            text.contains("authentication") && text.contains(name),
            "{text}"
        );
        assert!(!text.contains("alice-secret"), "{text}");
    }
}

#[tokio::test]
async fn a_mechanism_the_broker_lacks_lists_what_it_has() {
    let cluster = cluster(
        None,
        Some(MockSasl::new([SaslMechanismName::ScramSha512]).user("alice", "alice-secret")),
    )
    .await;
    let err = connect(
        &cluster,
        SecurityConfig::sasl_plaintext(SaslConfig::plain("alice", "alice-secret")),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not enable PLAIN; it enables: SCRAM-SHA-512"),
        "{err}"
    );
}

#[tokio::test]
async fn a_broker_that_cannot_prove_it_knows_the_password_is_refused() {
    let cluster = cluster(None, Some(users().forge_server_signature(true))).await;
    let err = connect(
        &cluster,
        SecurityConfig::sasl_plaintext(SaslConfig::scram_sha512("alice", "alice-secret")),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("does not know the password"),
        "{err}"
    );
}

#[tokio::test]
async fn certificate_problems_are_named() {
    let pki = TestPki::generate().unwrap();
    let other = TestPki::generate().unwrap();
    let cluster_ok = cluster(Some(MockTls::new(pki.clone())), None).await;
    // A CA the client does not trust.
    let err = connect(&cluster_ok, SecurityConfig::ssl(tls_for(&other)))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Tls { .. }), "{err}");
    assert!(
        err.to_string().contains("not signed by a trusted CA"),
        "{err}"
    );

    // A certificate for another host: refused, unless hostname verification is off.
    let misnamed = pki.with_server(&["broker.example.com"], false).unwrap();
    let cluster_misnamed = cluster(Some(MockTls::new(misnamed)), None).await;
    let err = connect(&cluster_misnamed, SecurityConfig::ssl(tls_for(&pki)))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not valid for host '127.0.0.1'"),
        "{err}"
    );
    let lenient = tls_for(&pki).with_hostname_verification(false);
    let conn = connect(&cluster_misnamed, SecurityConfig::ssl(lenient))
        .await
        .unwrap();
    metadata_works(&conn).await;
    // Hostname verification off still verifies the chain.
    let lenient_other = tls_for(&other).with_hostname_verification(false);
    assert!(
        connect(&cluster_misnamed, SecurityConfig::ssl(lenient_other))
            .await
            .is_err()
    );

    // An expired certificate.
    let expired = pki.with_server(&["127.0.0.1"], true).unwrap();
    let cluster_expired = cluster(Some(MockTls::new(expired)), None).await;
    let err = connect(&cluster_expired, SecurityConfig::ssl(tls_for(&pki)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn mutual_tls_required_and_missing() {
    let pki = TestPki::generate().unwrap();
    let cluster = cluster(
        Some(MockTls::new(pki.clone()).require_client_cert(true)),
        None,
    )
    .await;
    let with_cert = tls_for(&pki).with_client_identity(
        PemSource::inline(pki.client_cert_pem.clone()),
        PemSource::inline(pki.client_key_pem.clone()),
    );
    let conn = connect(&cluster, SecurityConfig::ssl(with_cert))
        .await
        .unwrap();
    metadata_works(&conn).await;
    // Without one the broker refuses the handshake (TLS 1.3: with an alert after the client
    // finished, so the refusal is seen at the first read).
    let err = connect(&cluster, SecurityConfig::ssl(tls_for(&pki)))
        .await
        .unwrap_err();
    assert!(!err.is_retriable(), "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn tls_and_plaintext_ports_confused_fail_clearly_and_fast() {
    let pki = TestPki::generate().unwrap();
    let plain = cluster(None, None).await;
    let started = Instant::now();
    let err = connect(&plain, SecurityConfig::ssl(tls_for(&pki)))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("TLS"), "{err}");

    let tls = cluster(Some(MockTls::new(pki.clone())), None).await;
    let started = Instant::now();
    let err = connect(&tls, SecurityConfig::default()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert!(
        text.contains("TLS") || text.contains("security.protocol"),
        "{text}"
    );
}

#[tokio::test]
async fn sasl_without_credentials_and_bad_files_are_config_errors() {
    let err = ConnectionConfig::builder()
        .security(SecurityConfig {
            protocol: SecurityProtocol::SaslSsl,
            ..Default::default()
        })
        .build()
        .unwrap_err();
    assert_eq!(err.field, "sasl.mechanism");
    let err = ConnectionConfig::builder()
        .security(SecurityConfig::ssl(
            TlsConfig::default().with_ca(PemSource::file("/no/such/ca.pem")),
        ))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "ssl.ca.location");
    assert!(err.reason.contains("/no/such/ca.pem"));
}

#[tokio::test]
async fn secrets_never_reach_debug_output() {
    let sasl = SaslConfig::scram_sha512("alice", "alice-secret");
    let pki = TestPki::generate().unwrap();
    let security = SecurityConfig::sasl_ssl(
        tls_for(&pki).with_client_identity(
            PemSource::inline(pki.client_cert_pem.clone()),
            PemSource::inline(pki.client_key_pem.clone()),
        ),
        sasl,
    );
    let config = config(security);
    let text = format!("{config:?}");
    assert!(!text.contains("alice-secret"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn reauthentication_keeps_requests_flowing_in_order() {
    let cluster = cluster(
        None,
        Some(users().session_lifetime(Duration::from_millis(600))),
    )
    .await;
    for sasl in [
        SaslConfig::scram_sha512("alice", "alice-secret"),
        SaslConfig::oauthbearer(Arc::new(StaticTokenProvider::unsecured(
            "alice",
            Duration::from_secs(3600),
        ))),
    ] {
        let conn = connect(&cluster, SecurityConfig::sasl_plaintext(sasl))
            .await
            .unwrap();
        // Four tasks keep several requests in flight for 2.5 s, over several session lifetimes:
        // the mock closes a connection that sends anything mid-re-authentication or after its
        // session expired, so every answer arriving proves both rules were kept.
        let deadline = Instant::now() + Duration::from_millis(2500);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let conn = conn.clone();
            tasks.push(tokio::spawn(async move {
                let mut answered = 0u32;
                while Instant::now() < deadline {
                    answered += pipelined_metadata(&conn, 8).await;
                }
                answered
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert!(total > 100, "{total}");
        assert!(conn.is_usable());
        assert!(
            conn.stats().reauthentications() >= 3,
            "{}",
            conn.stats().reauthentications()
        );
    }
}

/// `pki`'s client key, encrypted as `openssl pkcs8 -topk8 -v2 aes-256-cbc` would.
fn encrypted_client_key(pki: &TestPki, password: &str) -> String {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pki.client_key_pem.as_bytes())
        .unwrap();
    let info = pkcs8::PrivateKeyInfo::try_from(der.secret_pkcs8_der()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7u8; 16])
            .unwrap();
    let encrypted = info.encrypt_with_params(params, password).unwrap();
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_encrypted_client_key_with_its_password() {
    let pki = TestPki::generate().unwrap();
    let cluster = cluster(
        Some(MockTls::new(pki.clone()).require_client_cert(true)),
        None,
    )
    .await;
    let key = encrypted_client_key(&pki, "key-secret");
    let tls = |password: Option<&str>| {
        let mut t = tls_for(&pki).with_client_identity(
            PemSource::inline(pki.client_cert_pem.clone()),
            PemSource::inline(key.clone()),
        );
        if let Some(p) = password {
            t = t.with_key_password(p);
        }
        t
    };
    let conn = connect(&cluster, SecurityConfig::ssl(tls(Some("key-secret"))))
        .await
        .unwrap();
    metadata_works(&conn).await;
    for (password, reason) in [
        (Some("not-the-key-password"), "cannot decrypt"),
        (None, "encrypted"),
    ] {
        let err = ConnectionConfig::builder()
            .security(SecurityConfig::ssl(tls(password)))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "ssl.key.password");
        assert!(err.reason.contains(reason), "{}", err.reason);
        assert!(
            !err.reason.contains("not-the-key-password"),
            "{}",
            err.reason
        );
    }
}
