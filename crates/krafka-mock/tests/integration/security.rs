//! The mock's SASL listener rules at the wire, as Kafka's broker keeps them: only ApiVersions
//! and the SASL APIs before authentication; an unknown mechanism or failed authentication is
//! answered, then the connection closes; a session past its lifetime is closed at its next
//! request; a listener without SASL answers SaslHandshake with ILLEGAL_SASL_STATE.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::time::Duration;

use bytes::Bytes;
use krafka_mock::{MockCluster, MockSasl, SaslMechanismName};
use krafka_protocol::messages as m;
use krafka_protocol::{ErrorCode, StrBytes};
use support::RawClient;
use tokio::io::AsyncReadExt;

async fn sasl_cluster(sasl: MockSasl) -> MockCluster {
    MockCluster::builder()
        .topic("t", 1)
        .sasl(sasl)
        .start()
        .await
        .unwrap()
}

fn metadata() -> m::MetadataRequest {
    m::MetadataRequest {
        topics: None,
        ..Default::default()
    }
}

fn handshake(mechanism: &'static str) -> m::SaslHandshakeRequest {
    m::SaslHandshakeRequest {
        mechanism: StrBytes::from_static_str(mechanism),
    }
}

fn authenticate(bytes: &'static [u8]) -> m::SaslAuthenticateRequest {
    m::SaslAuthenticateRequest {
        auth_bytes: Bytes::from_static(bytes),
        ..Default::default()
    }
}

/// The broker closed the connection: a read sees end of stream within a second.
async fn closed(client: &mut RawClient) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), client.stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn requests_before_authentication_close_the_connection() {
    let cluster = sasl_cluster(MockSasl::all().user("alice", "pw")).await;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    // ApiVersions is served before authentication.
    let versions = client.call(&m::ApiVersionsRequest::default(), 3).await;
    assert_eq!(versions.error_code, 0);
    client.send(&metadata(), 12).await;
    assert!(closed(&mut client).await);
}

#[tokio::test]
async fn plain_authenticates_then_serves_requests() {
    let cluster = sasl_cluster(MockSasl::all().user("alice", "pw")).await;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let h = client.call(&handshake("PLAIN"), 1).await;
    assert_eq!(h.error_code, 0);
    let names: Vec<&str> = h.mechanisms.iter().map(|m| &**m).collect();
    assert_eq!(
        names,
        ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
    );
    let a = client.call(&authenticate(b"\0alice\0pw"), 2).await;
    assert_eq!(a.error_code, 0);
    assert_eq!(client.call(&metadata(), 12).await.topics.len(), 1);
}

#[tokio::test]
async fn an_unknown_mechanism_is_answered_with_the_list_then_closed() {
    let cluster =
        sasl_cluster(MockSasl::new([SaslMechanismName::ScramSha512]).user("a", "b")).await;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let h = client.call(&handshake("PLAIN"), 1).await;
    assert_eq!(h.error_code, ErrorCode::UNSUPPORTED_SASL_MECHANISM.0);
    assert_eq!(&*h.mechanisms[0], "SCRAM-SHA-512");
    assert!(closed(&mut client).await);
}

#[tokio::test]
async fn a_failed_authentication_carries_a_message_then_closes() {
    let cluster = sasl_cluster(MockSasl::all().user("alice", "pw")).await;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client.call(&handshake("PLAIN"), 1).await;
    let a = client.call(&authenticate(b"\0alice\0nope"), 2).await;
    assert_eq!(a.error_code, ErrorCode::SASL_AUTHENTICATION_FAILED.0);
    assert!(
        a.error_message
            .unwrap()
            .contains("Invalid username or password")
    );
    assert!(closed(&mut client).await);
}

#[tokio::test]
async fn an_expired_session_is_closed_at_its_next_request_unless_reauthenticated() {
    let cluster = sasl_cluster(
        MockSasl::all()
            .user("alice", "pw")
            .session_lifetime(Duration::from_millis(200)),
    )
    .await;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client.call(&handshake("PLAIN"), 1).await;
    let a = client.call(&authenticate(b"\0alice\0pw"), 2).await;
    assert_eq!(a.session_lifetime_ms, 200);
    // Re-authenticating on the same connection renews the session.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(client.call(&handshake("PLAIN"), 1).await.error_code, 0);
    assert_eq!(
        client
            .call(&authenticate(b"\0alice\0pw"), 2)
            .await
            .error_code,
        0
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.call(&metadata(), 12).await.topics.len(), 1);
    // Past the renewed lifetime, the next request closes the connection.
    tokio::time::sleep(Duration::from_millis(250)).await;
    client.send(&metadata(), 12).await;
    assert!(closed(&mut client).await);
}

#[tokio::test]
async fn a_plaintext_listener_refuses_sasl_as_illegal_state() {
    let cluster = MockCluster::builder().start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let h = client.call(&handshake("PLAIN"), 1).await;
    assert_eq!(h.error_code, ErrorCode::ILLEGAL_SASL_STATE.0);
    // The connection stays usable.
    assert!(client.call(&metadata(), 12).await.topics.is_empty());
}
