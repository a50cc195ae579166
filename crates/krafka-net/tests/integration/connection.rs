//! `BrokerConnection` against krafka-mock (with injected faults) and against a hand-written
//! fake broker for protocol violations the mock never commits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use krafka_mock::{Control, MockCluster, Times};
use krafka_net::{BrokerConnection, ConnectionConfig, NetError, RequestPriority, ResponseFuture};
use krafka_protocol::header::{decode_request_header, encode_response_frame};
use krafka_protocol::messages::{
    ApiVersionsResponse, FetchRequest, HeartbeatRequest, MetadataRequest, MetadataResponse,
    ProduceRequest,
};
use krafka_protocol::{ApiKey, Encode, ErrorCode, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn config() -> Arc<ConnectionConfig> {
    Arc::new(ConnectionConfig::default())
}

fn config_with(
    f: impl FnOnce(krafka_net::ConnectionConfigBuilder) -> krafka_net::ConnectionConfigBuilder,
) -> Arc<ConnectionConfig> {
    Arc::new(f(ConnectionConfig::builder()).build().unwrap())
}

async fn cluster() -> MockCluster {
    MockCluster::builder()
        .brokers(1)
        .topic("t", 1)
        .start()
        .await
        .unwrap()
}

fn metadata_all() -> MetadataRequest {
    MetadataRequest {
        topics: None,
        ..Default::default()
    }
}

/// Puts a Metadata request (all topics) in line at `priority`.
async fn enqueue_metadata(conn: &BrokerConnection, priority: RequestPriority) -> ResponseFuture {
    let version = conn.api_version(ApiKey::METADATA).unwrap();
    let request = metadata_all();
    conn.enqueue(ApiKey::METADATA, version, priority, 0, move |b| {
        request.encode(b, version)
    })
    .await
    .unwrap()
}

fn heartbeat() -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: StrBytes::from_static_str("g"),
        generation_id: 1,
        member_id: StrBytes::from_static_str("m"),
        ..Default::default()
    }
}

fn addr(cluster: &MockCluster) -> String {
    cluster.broker_addrs()[0].to_string()
}

#[tokio::test]
async fn negotiates_versions_and_answers_requests() {
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    let ours = ApiKey::FETCH.supported_versions().unwrap();
    let theirs = conn.api_versions().advertised(ApiKey::FETCH).unwrap();
    assert_eq!(
        conn.api_version(ApiKey::FETCH),
        Some(ours.max.min(theirs.max))
    );
    let response: MetadataResponse = conn.send_negotiated(&metadata_all()).await.unwrap();
    assert_eq!(response.brokers.len(), 1);
    assert_eq!(response.topics[0].name.as_deref(), Some("t"));
    let stats = conn.stats();
    assert_eq!(stats.requests_sent(), 1);
    assert_eq!(stats.responses(), 1);
    assert_eq!(stats.in_flight(), 0);
    assert!(stats.bytes_out() > 0 && stats.bytes_in() > 0);
    assert_eq!(stats.latency().count(), 1);
    conn.close().await;
    assert!(!conn.is_usable());
    let err = conn.send_negotiated(&metadata_all()).await.unwrap_err();
    assert!(matches!(err, NetError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn an_old_broker_gets_its_own_versions() {
    let cluster = cluster().await;
    cluster.restrict_versions(1, ApiKey::FETCH, Some(4));
    cluster.restrict_versions(1, ApiKey::HEARTBEAT, Some(-1));
    // KIP-511: an ApiVersions v3 the broker does not know is answered in v0; we retry with v2.
    cluster.restrict_versions(1, ApiKey::API_VERSIONS, Some(2));
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    assert_eq!(conn.api_version(ApiKey::FETCH), Some(4));
    assert_eq!(conn.api_version(ApiKey::HEARTBEAT), None);
    let api_versions: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::API_VERSIONS)
        .map(|r| r.version)
        .collect();
    assert_eq!(
        api_versions,
        vec![2],
        "the v3 attempt is refused before it is logged"
    );
    let err = conn.send_negotiated(&heartbeat()).await.unwrap_err();
    assert!(matches!(err, NetError::UnsupportedApi { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_fails_every_pending_request_at_once() {
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    // The first fetch holds the connection for a while, then the broker drops it.
    cluster.on(ApiKey::FETCH, Times::Once, |_| {
        Control::Delay(Duration::from_millis(200))
    });
    cluster.on(ApiKey::METADATA, Times::Once, |_| Control::Disconnect);
    let fetch = FetchRequest {
        max_wait_ms: 0,
        ..Default::default()
    };
    let version = conn.api_version(ApiKey::FETCH).unwrap();
    let started = Instant::now();
    let mut waiting = Vec::new();
    waiting.push(
        conn.enqueue(ApiKey::FETCH, version, RequestPriority::Normal, 0, |b| {
            fetch.encode(b, version)
        })
        .await
        .unwrap(),
    );
    for _ in 0..3 {
        waiting.push(enqueue_metadata(&conn, RequestPriority::Normal).await);
    }
    let mut errors = 0;
    let mut first_ok = false;
    for (i, w) in waiting.into_iter().enumerate() {
        match w.await {
            Ok(_) => {
                assert_eq!(i, 0, "only the fetch before the fault can be answered");
                first_ok = true;
            }
            Err(e) => {
                assert!(e.is_retriable(), "{e}");
                assert!(matches!(e, NetError::Disconnected { .. }), "{e}");
                errors += 1;
            }
        }
    }
    assert!(first_ok);
    assert_eq!(errors, 3);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed at once, not by timeout"
    );
    assert!(!conn.is_usable());
    assert_eq!(conn.stats().in_flight(), 0);
}

#[tokio::test]
async fn a_broker_that_never_answers_times_out() {
    let cluster = cluster().await;
    let cfg = config_with(|b| b.request_timeout(Duration::from_millis(300)));
    let conn = BrokerConnection::connect(&addr(&cluster), cfg)
        .await
        .unwrap();
    cluster.on(ApiKey::METADATA, Times::Once, |_| Control::NoAnswer);
    let started = Instant::now();
    let err = conn.send_negotiated(&metadata_all()).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(
            err,
            NetError::RequestTimeout {
                api_key: ApiKey::METADATA,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_retriable());
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = BrokerConnection::connect(&addr, config())
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Connect { .. }), "{err}");
    assert!(err.is_retriable());
}

#[tokio::test]
async fn a_silent_listener_hits_the_connect_timeout() {
    // Accepts TCP but never answers ApiVersions.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let _keep = tokio::spawn(async move {
        let (_s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let cfg = config_with(|b| b.connect_timeout(Duration::from_millis(200)));
    let err = BrokerConnection::connect(&addr, cfg).await.unwrap_err();
    assert!(matches!(err, NetError::ConnectTimeout { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_high_lane_is_drained_before_the_normal_lane() {
    let cluster = cluster().await;
    let cfg = config_with(|b| b.max_in_flight_requests(1));
    let conn = BrokerConnection::connect(&addr(&cluster), cfg)
        .await
        .unwrap();
    // Let the writer park first, believing there is room for normal requests: the direct
    // write below takes that room behind its back, which once kept the heartbeat waiting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hv = conn.api_version(ApiKey::HEARTBEAT).unwrap();
    // The first request occupies the only normal in-flight slot for a while, so the next
    // normal requests wait in their lane; a heartbeat sent after them must overtake them.
    cluster.on(ApiKey::METADATA, Times::Once, |_| {
        Control::Delay(Duration::from_millis(300))
    });
    let blocker = enqueue_metadata(&conn, RequestPriority::Normal).await;
    let mut normals = Vec::new();
    for _ in 0..3 {
        normals.push(enqueue_metadata(&conn, RequestPriority::Normal).await);
    }
    let h = heartbeat();
    let beat = conn
        .enqueue(ApiKey::HEARTBEAT, hv, RequestPriority::High, 0, |b| {
            h.encode(b, hv)
        })
        .await
        .unwrap();
    beat.await.unwrap();
    blocker.await.unwrap();
    for n in normals {
        n.await.unwrap();
    }
    let order: Vec<ApiKey> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key != ApiKey::API_VERSIONS)
        .map(|r| r.api_key)
        .collect();
    assert_eq!(
        order,
        vec![
            ApiKey::METADATA,
            ApiKey::HEARTBEAT,
            ApiKey::METADATA,
            ApiKey::METADATA,
            ApiKey::METADATA
        ]
    );
    let s = conn.stats();
    assert_eq!(
        (
            s.bypass_count(),
            s.high_priority_count(),
            s.normal_priority_count()
        ),
        (1, 1, 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_requests_are_coalesced_into_few_writes() {
    let cluster = cluster().await;
    let cfg = config_with(|b| b.max_in_flight_requests(64));
    let conn = BrokerConnection::connect(&addr(&cluster), cfg)
        .await
        .unwrap();
    cluster.on(ApiKey::METADATA, Times::Once, |_| {
        Control::Delay(Duration::from_millis(100))
    });
    let mut waiting = Vec::new();
    for _ in 0..50 {
        waiting.push(enqueue_metadata(&conn, RequestPriority::Normal).await);
    }
    for w in waiting {
        let r: MetadataResponse = w.await.unwrap().decode().unwrap();
        assert_eq!(r.brokers.len(), 1);
    }
    let s = conn.stats();
    assert_eq!(s.requests_sent(), 50);
    assert!(
        s.write_calls() < 25,
        "{} writes for 50 requests",
        s.write_calls()
    );
}

#[tokio::test]
async fn a_dropped_send_leaves_the_connection_in_step() {
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    cluster.on(ApiKey::METADATA, Times::Once, |_| {
        Control::Delay(Duration::from_millis(200))
    });
    // Cancel the first request while it is in flight.
    let first = tokio::time::timeout(
        Duration::from_millis(50),
        conn.send_negotiated(&metadata_all()),
    )
    .await;
    assert!(first.is_err(), "the delayed request cannot have completed");
    // The next request gets its own answer, not the abandoned one.
    let r: MetadataResponse = conn.send_negotiated(&metadata_all()).await.unwrap();
    assert_eq!(r.brokers.len(), 1);
    let version = conn.api_version(ApiKey::HEARTBEAT).unwrap();
    let _ = conn.send(&heartbeat(), version).await.unwrap();
    assert!(conn.is_usable());
    assert_eq!(conn.stats().responses(), 3);
}

#[tokio::test]
async fn acks_zero_is_sent_without_waiting_for_an_answer() {
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    let version = conn.api_version(ApiKey::PRODUCE).unwrap();
    let produce = ProduceRequest {
        acks: 0,
        timeout_ms: 1000,
        ..Default::default()
    };
    let err = conn.send(&produce, version).await.unwrap_err();
    assert!(matches!(err, NetError::InvalidRequest(_)));
    conn.send_without_response(ApiKey::PRODUCE, version, |b| produce.encode(b, version))
        .await
        .unwrap();
    // Still in step: the next request is answered.
    let r: MetadataResponse = conn.send_negotiated(&metadata_all()).await.unwrap();
    assert_eq!(r.brokers.len(), 1);
    assert!(
        cluster
            .requests()
            .iter()
            .any(|r| r.api_key == ApiKey::PRODUCE)
    );
}

#[tokio::test]
async fn idle_connections_close() {
    let cluster = cluster().await;
    let cfg = config_with(|b| b.idle_timeout(Duration::from_millis(200)));
    let conn = BrokerConnection::connect(&addr(&cluster), cfg)
        .await
        .unwrap();
    let _: MetadataResponse = conn.send_negotiated(&metadata_all()).await.unwrap();
    assert!(conn.is_usable());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn a_connection_closed_before_its_tasks_ran_closes_at_once() {
    // On a one-thread runtime the reader and writer have not run yet when `connect` returns;
    // a close then must not wait for the idle timeout (the shutdown signal predates them).
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), conn.close())
        .await
        .expect("close waited for the idle timeout");
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let cluster = cluster().await;
    let conn = BrokerConnection::connect(&addr(&cluster), config())
        .await
        .unwrap();
    let clone = conn.clone();
    drop(conn);
    assert!(clone.is_usable(), "a clone keeps it open");
    let _: MetadataResponse = clone.send_negotiated(&metadata_all()).await.unwrap();
    let stats_probe = clone.clone();
    drop(clone);
    assert!(stats_probe.is_usable());
}

/// A fake broker: answers the handshake, then answers the first request with `wrong_id`.
async fn fake_broker(respond: impl Fn(i32) -> Vec<u8> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut served = 0;
        loop {
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
            s.read_exact(&mut frame).await.unwrap();
            let mut frame = bytes::Bytes::from(frame);
            let header = decode_request_header(&mut frame).unwrap();
            let mut out = BytesMut::new();
            if header.request_api_key == ApiKey::API_VERSIONS.0 {
                let body = ApiVersionsResponse {
                    api_keys: vec![
                        krafka_protocol::messages::api_versions_response::ApiVersion {
                            api_key: ApiKey::METADATA.0,
                            min_version: 0,
                            max_version: 12,
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                };
                encode_response_frame(
                    &mut out,
                    header.correlation_id,
                    &body,
                    header.request_api_version,
                )
                .unwrap();
            } else {
                out.extend_from_slice(&respond(header.correlation_id + served));
                served += 1;
            }
            s.write_all(&out).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn an_unexpected_correlation_id_closes_the_connection() {
    let addr = fake_broker(|id| {
        let mut out = BytesMut::new();
        encode_response_frame(&mut out, id + 1000, &MetadataResponse::default(), 12).unwrap();
        out.to_vec()
    })
    .await;
    let conn = BrokerConnection::connect(&addr, config()).await.unwrap();
    let err = conn.send(&metadata_all(), 12).await.unwrap_err();
    assert!(matches!(err, NetError::Protocol { .. }), "{err}");
    assert!(!err.is_retriable());
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn an_oversized_response_closes_the_connection() {
    let addr = fake_broker(|_| {
        let mut out = (1u32 << 30).to_be_bytes().to_vec();
        out.extend_from_slice(&[0; 16]);
        out
    })
    .await;
    let cfg = config_with(|b| b.max_response_size(1024 * 1024));
    let conn = BrokerConnection::connect(&addr, cfg).await.unwrap();
    let err = conn.send(&metadata_all(), 12).await.unwrap_err();
    assert!(matches!(err, NetError::Protocol { .. }), "{err}");
}

#[tokio::test]
async fn a_garbled_response_body_is_an_error_not_a_panic() {
    let addr = fake_broker(|id| {
        let mut out = Vec::new();
        let body = [&id.to_be_bytes()[..], &[0u8, 0xff, 0xff, 0xff, 0xff, 0x7f]].concat();
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    })
    .await;
    let conn = BrokerConnection::connect(&addr, config()).await.unwrap();
    let err = conn.send(&metadata_all(), 12).await.unwrap_err();
    assert!(matches!(err, NetError::Decode(_)), "{err}");
    // Decoding happens in the caller; the connection itself is still in step.
    assert!(conn.is_usable());
    let _ = ErrorCode::NONE;
}
