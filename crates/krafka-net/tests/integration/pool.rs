//! `BrokerConnectionBundle`, `ConnectionPool` and `ClusterMetadata` against krafka-mock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_mock::{Control, MockCluster, Times};
use krafka_net::{
    BrokerConnectionBundle, ClusterMetadata, ConnectionConfig, ConnectionPool, MetadataConfig,
    NetError,
};
use krafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use krafka_protocol::messages::{ListOffsetsRequest, MetadataRequest, MetadataResponse};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

async fn cluster(brokers: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(brokers)
        .topic("t", 6)
        .start()
        .await
        .unwrap()
}

fn config(per_broker: usize) -> ConnectionConfig {
    ConnectionConfig::builder()
        .connections_per_broker(per_broker)
        .build()
        .unwrap()
}

fn metadata_request() -> MetadataRequest {
    MetadataRequest {
        topics: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_bundle_round_robins_and_pins_partitions() {
    let cluster = cluster(1).await;
    let addr = cluster.broker_addrs()[0].to_string();
    let bundle = BrokerConnectionBundle::connect(&addr, Arc::new(config(3)))
        .await
        .unwrap();
    assert_eq!((bundle.len(), bundle.usable_count()), (3, 3));
    let picked: HashSet<u64> = (0..6).map(|_| bundle.select().unwrap().id()).collect();
    assert_eq!(picked.len(), 3, "round-robin reaches every connection");
    let pinned = bundle.for_partition("t", 4).unwrap();
    for _ in 0..10 {
        assert_eq!(bundle.for_partition("t", 4).unwrap().id(), pinned.id());
    }
    // Its connection dies: the partition moves, and then stays where it moved.
    pinned.close().await;
    assert_eq!(bundle.usable_count(), 2);
    let moved = bundle.for_partition("t", 4).unwrap();
    assert_ne!(moved.id(), pinned.id());
    assert!(moved.is_usable());
    assert_eq!(bundle.repair().await.unwrap(), 1);
    assert_eq!(bundle.usable_count(), 3);
    for _ in 0..10 {
        assert_eq!(bundle.for_partition("t", 4).unwrap().id(), moved.id());
    }
    let _: MetadataResponse = moved.send_negotiated(&metadata_request()).await.unwrap();
    assert!((0..3).all(|i| bundle.get(i).unwrap().is_usable()));
    assert!(bundle.get(3).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_hammering_one_pool_share_one_dial_per_broker() {
    let cluster = cluster(3).await;
    let pool = ConnectionPool::new(config(2));
    let addrs: Vec<String> = cluster
        .broker_addrs()
        .iter()
        .map(|a| a.to_string())
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (pool, addr) = (pool.clone(), addrs[i % 3].clone());
        tasks.spawn(async move {
            for _ in 0..5 {
                let conn = pool.get_connection(&addr).await.unwrap();
                let _: MetadataResponse = conn.send_negotiated(&metadata_request()).await.unwrap();
            }
        });
    }
    let all = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    })
    .await;
    assert!(all.is_ok(), "no deadlock");
    assert_eq!(pool.dial_count(), 3, "one dial per broker");
    let handshakes = cluster
        .requests()
        .iter()
        .filter(|r| r.api_key == ApiKey::API_VERSIONS)
        .count();
    assert_eq!(
        handshakes, 6,
        "two connections per broker, each negotiated once"
    );
}

#[tokio::test]
async fn a_down_broker_backs_off_then_recovers() {
    let mut cluster = cluster(2).await;
    let addr = cluster.broker_addrs()[1].to_string();
    let other = cluster.broker_addrs()[0].to_string();
    let pool = ConnectionPool::new(
        ConnectionConfig::builder()
            .reconnect_backoff(Duration::from_millis(200))
            .reconnect_backoff_max(Duration::from_millis(400))
            .build()
            .unwrap(),
    );
    assert!(cluster.broker_down(2).await);
    let err = pool.get_connection(&addr).await.unwrap_err();
    assert!(matches!(err, NetError::Connect { .. }), "{err}");
    // Within the backoff the pool refuses at once, without dialling.
    let err = pool.get_connection(&addr).await.unwrap_err();
    let NetError::Backoff { retry_in, .. } = &err else {
        panic!("{err}")
    };
    assert!(*retry_in <= Duration::from_millis(240), "{retry_in:?}");
    assert!(err.is_retriable());
    assert_eq!(pool.dial_count(), 1);
    // Other brokers stay reachable meanwhile.
    let _: MetadataResponse = pool
        .get_connection(&other)
        .await
        .unwrap()
        .send_negotiated(&metadata_request())
        .await
        .unwrap();
    assert!(cluster.broker_up(2).await.unwrap());
    let started = Instant::now();
    let conn = loop {
        match pool.get_connection(&addr).await {
            Ok(conn) => break conn,
            Err(NetError::Backoff { retry_in, .. }) => tokio::time::sleep(retry_in).await,
            Err(e) => panic!("{e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    };
    let _: MetadataResponse = conn.send_negotiated(&metadata_request()).await.unwrap();
    assert_eq!(pool.dial_failure_count(), 1);
}

#[tokio::test]
async fn a_lost_connection_is_replaced_on_next_use() {
    let cluster = cluster(1).await;
    let addr = cluster.broker_addrs()[0].to_string();
    let pool = ConnectionPool::new(config(1));
    let first = pool.get_connection(&addr).await.unwrap();
    cluster.on(ApiKey::METADATA, Times::Once, |_| Control::Disconnect);
    let err = first
        .send_negotiated(&metadata_request())
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err}");
    let second = pool.get_connection(&addr).await.unwrap();
    assert_ne!(first.id(), second.id());
    let _: MetadataResponse = second.send_negotiated(&metadata_request()).await.unwrap();
    assert_eq!(pool.dial_count(), 2);
}

#[tokio::test]
async fn the_coordination_connection_is_separate() {
    let cluster = cluster(1).await;
    let addr = cluster.broker_addrs()[0].to_string();
    let pool = ConnectionPool::new(config(2));
    let data = pool.get_bundle(&addr).await.unwrap();
    let coordination = pool.get_coordination_connection(&addr).await.unwrap();
    assert!((0..data.len()).all(|i| data.get(i).unwrap().id() != coordination.id()));
    assert_eq!(
        pool.get_coordination_connection(&addr).await.unwrap().id(),
        coordination.id()
    );
    pool.set_brokers([(1, addr.clone())]);
    assert_eq!(
        pool.get_coordination_connection_by_id(1)
            .await
            .unwrap()
            .id(),
        coordination.id()
    );
    assert!(matches!(
        pool.get_connection_by_id(9).await.unwrap_err(),
        NetError::UnknownBroker(9)
    ));
    pool.close().await;
    assert!(!coordination.is_usable());
}

fn list_offsets(topic: &str, partition: i32) -> ListOffsetsRequest {
    ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: StrBytes::from_string(topic.to_owned()),
            partitions: vec![ListOffsetsPartition {
                partition_index: partition,
                timestamp: -1,
                current_leader_epoch: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn metadata_follows_a_leader_move() {
    let cluster = cluster(3).await;
    let pool = ConnectionPool::new(config(1));
    let metadata =
        ClusterMetadata::connect(pool.clone(), MetadataConfig::new([cluster.bootstrap()]))
            .await
            .unwrap();
    metadata.add_topics(["t"]);
    let snapshot = metadata.refresh().await.unwrap();
    assert_eq!(snapshot.brokers.len(), 3);
    assert_eq!(snapshot.topic("t").unwrap().partitions.len(), 6);
    let old = metadata.leader("t", 0).unwrap();
    let new_leader = if old.broker == 1 { 2 } else { 1 };
    let epoch = cluster.move_leader("t", 0, new_leader).unwrap();
    // The old leader now refuses; the client reports it and the cache catches up.
    let conn = pool.get_connection_by_id(old.broker).await.unwrap();
    let response = conn.send_negotiated(&list_offsets("t", 0)).await.unwrap();
    let code = ErrorCode(response.topics[0].partitions[0].error_code);
    assert_eq!(code, ErrorCode::NOT_LEADER_OR_FOLLOWER);
    let before = metadata.snapshot().generation;
    assert!(metadata.report_error(code));
    assert!(!metadata.report_error(ErrorCode::INVALID_REQUEST));
    let deadline = Instant::now() + Duration::from_secs(5);
    while metadata.snapshot().generation == before {
        assert!(
            Instant::now() < deadline,
            "no refresh after a stale-leader report"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let now = metadata.leader("t", 0).unwrap();
    assert_eq!((now.broker, now.epoch), (new_leader, epoch));
    let response = pool
        .get_connection(&now.addr)
        .await
        .unwrap()
        .send_negotiated(&list_offsets("t", 0))
        .await
        .unwrap();
    assert_eq!(response.topics[0].partitions[0].error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_are_coalesced() {
    let cluster = cluster(1).await;
    let metadata = ClusterMetadata::connect(
        ConnectionPool::new(config(1)),
        MetadataConfig::new([cluster.bootstrap()]),
    )
    .await
    .unwrap();
    let sent_before = metadata.requests_sent();
    // Slow refreshes, so callers pile up behind the one running.
    cluster.on(ApiKey::METADATA, Times::Always, |_| {
        Control::Delay(Duration::from_millis(100))
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let m = metadata.clone();
        tasks.spawn(async move { m.refresh().await.map(|s| s.generation) });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.unwrap().unwrap() > 1);
    }
    let sent = metadata.requests_sent() - sent_before;
    assert!(
        sent <= 2,
        "{sent} metadata requests for 50 concurrent refreshes"
    );
}

#[tokio::test]
async fn metadata_reports_when_no_broker_answers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = ClusterMetadata::connect(ConnectionPool::new(config(1)), MetadataConfig::new([addr]))
        .await
        .unwrap_err();
    let NetError::NoBrokerAvailable {
        last_error: Some(last),
    } = &err
    else {
        panic!("{err}")
    };
    assert!(matches!(**last, NetError::Connect { .. }), "{last}");
}

#[tokio::test]
async fn old_metadata_is_refreshed_on_age() {
    let cluster = cluster(1).await;
    let mut config = MetadataConfig::new([cluster.bootstrap()]);
    config.max_age = Duration::from_millis(200);
    let metadata = ClusterMetadata::connect(ConnectionPool::new(self::config(1)), config)
        .await
        .unwrap();
    let first = metadata.snapshot().generation;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(metadata.snapshot().generation >= first + 2);
}

#[tokio::test]
async fn a_new_topic_is_looked_up_without_waiting_out_the_refresh_backoff() {
    let cluster = cluster(1).await;
    let mut config = MetadataConfig::new([cluster.bootstrap()]);
    config.refresh_backoff = Duration::from_secs(5);
    let metadata = ClusterMetadata::connect(ConnectionPool::new(self::config(1)), config)
        .await
        .unwrap();
    // A consumer assigned a topic right after connecting, as Java's requestUpdateForNewTopics.
    let started = Instant::now();
    metadata.add_topics(["t"]);
    while metadata.snapshot().topic("t").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the new topic waited for the 5 s refresh backoff"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Other refreshes still keep the backoff.
    let generation = metadata.snapshot().generation;
    metadata.request_refresh();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(metadata.snapshot().generation, generation);
}
