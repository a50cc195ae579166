//! Fault injection and cluster control: every `Control`, hook counting, leader moves and the
//! request log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use krafka_mock::{Control, MockCluster, Times};
use krafka_protocol::messages::{self as m, RequestBody};
use krafka_protocol::{ApiKey, ErrorCode};
use support::{RawClient, batch, leader_of, produce};
use tokio::io::AsyncReadExt;

fn error_of(response: &m::ProduceResponse) -> i16 {
    response.responses[0].partition_responses[0].error_code
}

#[tokio::test]
async fn error_once_is_not_applied_and_then_passes() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER)
    });
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let refused = client.call(&produce("t", 0, batch(&[b"a"]), -1), 9).await;
    assert_eq!(error_of(&refused), ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    assert!(
        cluster.records("t", 0).is_empty(),
        "a refused produce is not applied"
    );
    let accepted = client.call(&produce("t", 0, batch(&[b"b"]), -1), 9).await;
    assert_eq!(error_of(&accepted), 0);
    assert_eq!(cluster.records("t", 0).len(), 1);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_hook_that_passes_is_not_used_up_and_n_times_counts() {
    let cluster = MockCluster::builder().topic("t", 2).start().await.unwrap();
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    cluster.on(ApiKey::PRODUCE, Times::N(2), move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        match info.body {
            RequestBody::Produce(r) if r.topic_data[0].partition_data[0].index == 1 => {
                Control::Error(ErrorCode::REQUEST_TIMED_OUT)
            }
            _ => Control::Pass,
        }
    });
    let mut p0 = RawClient::connect(leader_of(&cluster, "t", 0).await).await;
    let mut p1 = RawClient::connect(leader_of(&cluster, "t", 1).await).await;
    assert_eq!(
        error_of(&p0.call(&produce("t", 0, batch(&[b"x"]), -1), 9).await),
        0
    );
    for _ in 0..2 {
        let r = p1.call(&produce("t", 1, batch(&[b"y"]), -1), 9).await;
        assert_eq!(error_of(&r), ErrorCode::REQUEST_TIMED_OUT.0);
    }
    // Two firings used up: the hook is gone.
    assert_eq!(
        error_of(&p1.call(&produce("t", 1, batch(&[b"z"]), -1), 9).await),
        0
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    cluster.shutdown().await;
}

#[tokio::test]
async fn delay_holds_the_answer() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::API_VERSIONS, Times::Once, |_| {
        Control::Delay(Duration::from_millis(300))
    });
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let started = Instant::now();
    client.call(&m::ApiVersionsRequest::default(), 3).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    cluster.shutdown().await;
}

async fn closed(client: &mut RawClient) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), client.stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn disconnect_drops_the_connection_without_applying() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| Control::Disconnect);
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client
        .send(&produce("t", 0, batch(&[b"lost"]), -1), 9)
        .await;
    assert!(closed(&mut client).await);
    assert!(cluster.records("t", 0).is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn apply_then_disconnect_leaves_the_outcome_unknown_to_the_client() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::ApplyThenDisconnect
    });
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client
        .send(&produce("t", 0, batch(&[b"kept"]), -1), 9)
        .await;
    assert!(closed(&mut client).await);
    assert_eq!(
        cluster.records("t", 0).len(),
        1,
        "applied although never acknowledged"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn apply_then_error_applies_and_answers_an_error() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::ApplyThenError(ErrorCode::REQUEST_TIMED_OUT)
    });
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let response = client
        .call(&produce("t", 0, batch(&[b"kept"]), -1), 9)
        .await;
    assert_eq!(error_of(&response), ErrorCode::REQUEST_TIMED_OUT.0);
    assert_eq!(cluster.records("t", 0).len(), 1);
    cluster.shutdown().await;
}

#[tokio::test]
async fn no_answer_keeps_the_connection_open_and_silent() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    cluster.on(ApiKey::METADATA, Times::Once, |_| Control::NoAnswer);
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client.send(&m::MetadataRequest::default(), 12).await;
    client.send(&m::ApiVersionsRequest::default(), 3).await;
    let mut byte = [0u8; 1];
    let waited =
        tokio::time::timeout(Duration::from_millis(500), client.stream.read(&mut byte)).await;
    assert!(
        waited.is_err(),
        "nothing is answered, and the connection is not closed"
    );
    // Other connections are served.
    let mut other = RawClient::connect(cluster.broker_addrs()[0]).await;
    other.call(&m::ApiVersionsRequest::default(), 3).await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn moving_a_leader_bumps_its_epoch_and_redirects_clients() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 1)
        .start()
        .await
        .unwrap();
    let old = leader_of(&cluster, "t", 0).await;
    let old_node = cluster
        .broker_addrs()
        .iter()
        .position(|a| *a == old)
        .unwrap() as i32
        + 1;
    let new_node = if old_node == 1 { 2 } else { 1 };
    assert_eq!(cluster.move_leader("t", 0, new_node), Some(1));
    let mut client = RawClient::connect(old).await;
    let refused = client.call(&produce("t", 0, batch(&[b"a"]), -1), 9).await;
    assert_eq!(error_of(&refused), ErrorCode::NOT_LEADER_OR_FOLLOWER.0);
    let metadata = client
        .call(
            &m::MetadataRequest {
                topics: None,
                ..Default::default()
            },
            12,
        )
        .await;
    let partition = &metadata.topics[0].partitions[0];
    assert_eq!((partition.leader_id, partition.leader_epoch), (new_node, 1));
    let mut leader = RawClient::connect(leader_of(&cluster, "t", 0).await).await;
    assert_eq!(
        error_of(&leader.call(&produce("t", 0, batch(&[b"b"]), -1), 9).await),
        0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn every_request_is_logged_with_its_broker() {
    let cluster = MockCluster::builder().brokers(2).start().await.unwrap();
    let mut a = RawClient::connect(cluster.broker_addrs()[0]).await;
    let mut b = RawClient::connect(cluster.broker_addrs()[1]).await;
    a.call(&m::ApiVersionsRequest::default(), 3).await;
    b.call(&m::MetadataRequest::default(), 12).await;
    let log = cluster.requests();
    let seen: Vec<(i32, ApiKey, i16)> = log
        .iter()
        .map(|r| (r.broker, r.api_key, r.version))
        .collect();
    assert_eq!(
        seen,
        vec![(1, ApiKey::API_VERSIONS, 3), (2, ApiKey::METADATA, 12)]
    );
    assert!(log[0].at <= log[1].at);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_broker_taken_down_refuses_connections_until_it_is_back() {
    let mut cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let second = cluster.broker_addrs()[1];
    let mut open = RawClient::connect(second).await;
    assert!(cluster.broker_down(2).await);
    assert!(!cluster.broker_down(2).await, "already down");
    assert!(closed(&mut open).await, "open connections are closed");
    assert!(
        tokio::net::TcpStream::connect(second).await.is_err(),
        "new ones are refused"
    );

    let mut first = RawClient::connect(cluster.broker_addrs()[0]).await;
    let metadata = first
        .call(
            &m::MetadataRequest {
                topics: None,
                ..Default::default()
            },
            12,
        )
        .await;
    assert_eq!(metadata.brokers.len(), 1);
    let orphan = metadata.topics[0]
        .partitions
        .iter()
        .find(|p| p.leader_id == -1)
        .unwrap();
    assert_eq!(orphan.error_code, ErrorCode::LEADER_NOT_AVAILABLE.0);

    assert!(cluster.broker_up(2).await.unwrap());
    let mut back = RawClient::connect(second).await;
    let metadata = back
        .call(
            &m::MetadataRequest {
                topics: None,
                ..Default::default()
            },
            12,
        )
        .await;
    assert_eq!(metadata.brokers.len(), 2);
    assert!(
        metadata.topics[0]
            .partitions
            .iter()
            .all(|p| p.error_code == 0)
    );
    let leader = leader_of(&cluster, "t", orphan.partition_index).await;
    assert_eq!(leader, second);
    let mut client = RawClient::connect(leader).await;
    let produced = client
        .call(
            &produce("t", orphan.partition_index, batch(&[b"again"]), -1),
            9,
        )
        .await;
    assert_eq!(error_of(&produced), 0);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_broker_can_impersonate_an_older_one() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 1)
        .start()
        .await
        .unwrap();
    cluster.restrict_versions(1, ApiKey::FETCH, Some(11));
    cluster.restrict_versions(1, ApiKey::INIT_PRODUCER_ID, Some(-1));
    let mut old = RawClient::connect(cluster.broker_addrs()[0]).await;
    let advertised = old.call(&m::ApiVersionsRequest::default(), 3).await;
    let fetch = advertised
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::FETCH.0)
        .unwrap();
    assert_eq!((fetch.min_version, fetch.max_version), (4, 11));
    assert!(
        advertised
            .api_keys
            .iter()
            .all(|k| k.api_key != ApiKey::INIT_PRODUCER_ID.0),
        "an API capped below its minimum is not advertised"
    );
    // Broker 2 is untouched.
    let mut new = RawClient::connect(cluster.broker_addrs()[1]).await;
    let current = new.call(&m::ApiVersionsRequest::default(), 3).await;
    let fetch = current
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::FETCH.0)
        .unwrap();
    assert_eq!(fetch.max_version, 17);
    // A request above the cap closes the connection, as an older broker cannot parse it.
    old.send(&support::fetch("t", 0, 0, 0), 12).await;
    assert!(closed(&mut old).await);
    cluster.restrict_versions(1, ApiKey::FETCH, None);
    let mut again = RawClient::connect(cluster.broker_addrs()[0]).await;
    let lifted = again.call(&m::ApiVersionsRequest::default(), 3).await;
    let fetch = lifted
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::FETCH.0)
        .unwrap();
    assert_eq!(fetch.max_version, 17);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_throttled_broker_reports_the_throttle_and_mutes_the_connection() {
    let cluster = MockCluster::builder().start().await.unwrap();
    cluster.throttle(1, 300);
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let first = client.call(&m::MetadataRequest::default(), 12).await;
    assert_eq!(first.throttle_time_ms, 300);
    let started = Instant::now();
    client.call(&m::ApiVersionsRequest::default(), 3).await;
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "muted after the throttled answer"
    );
    cluster.throttle(1, 0);
    let lifted = client.call(&m::MetadataRequest::default(), 12).await;
    assert_eq!(lifted.throttle_time_ms, 0);
    cluster.shutdown().await;
}
