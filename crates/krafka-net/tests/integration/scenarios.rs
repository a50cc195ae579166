//! krafka-net's two-backend scenario: on krafka-mock by default, on the real broker that
//! `KRAFKA_BOOTSTRAP` names under `cargo xtask test` (see `krafka_mock::scenario`).
//!
//! What it checks: connect and negotiate versions, fetch cluster metadata through the cache,
//! create a topic and see its partitions and leaders, and pipeline requests on one connection.

use std::time::Duration;

use krafka_mock::ScenarioCluster;
use krafka_net::{ClusterMetadata, ConnectionConfig, ConnectionPool, MetadataConfig};
use krafka_protocol::messages::create_topics_request::CreatableTopic;
use krafka_protocol::messages::{CreateTopicsRequest, MetadataRequest};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_negotiate_and_follow_metadata() {
    let cluster = ScenarioCluster::start().await.unwrap();
    let pool = ConnectionPool::new(ConnectionConfig::default());
    let metadata =
        ClusterMetadata::connect(pool.clone(), MetadataConfig::new([cluster.bootstrap()]))
            .await
            .unwrap();
    let snapshot = metadata.snapshot();
    assert!(!snapshot.brokers.is_empty(), "the broker lists itself");
    let broker = snapshot.brokers.values().next().unwrap().clone();

    // Versions are negotiated with the broker's advertised ranges.
    let conn = pool.get_connection(&broker.addr()).await.unwrap();
    for key in [
        ApiKey::PRODUCE,
        ApiKey::FETCH,
        ApiKey::METADATA,
        ApiKey::LIST_OFFSETS,
    ] {
        let advertised = conn.api_versions().advertised(key).unwrap();
        let ours = key.supported_versions().unwrap();
        assert_eq!(
            conn.api_version(key),
            Some(advertised.max.min(ours.max)),
            "{key:?}"
        );
    }

    // A new topic appears in the cache, with a leader for every partition.
    let topic = ScenarioCluster::unique_topic("krafka-net");
    let create = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: StrBytes::from_string(topic.clone()),
            num_partitions: 3,
            replication_factor: 1,
            ..Default::default()
        }],
        timeout_ms: 10_000,
        ..Default::default()
    };
    let created = conn.send_negotiated(&create).await.unwrap();
    let code = ErrorCode(created.topics[0].error_code);
    assert!(
        code.is_ok() || code == ErrorCode::TOPIC_ALREADY_EXISTS,
        "{code}"
    );
    metadata.add_topics([&topic]);
    let mut partitions = 0;
    for _ in 0..50 {
        let snapshot = metadata.refresh().await.unwrap();
        if let Some(t) = snapshot.topic(&topic) {
            partitions = t.partitions.len();
            if partitions == 3 && (0..3).all(|p| snapshot.leader(&topic, p).is_some()) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(partitions, 3);
    let leader = metadata.leader(&topic, 0).unwrap();
    assert_eq!(pool.broker_addr(leader.broker), Some(leader.addr.clone()));

    // Pipelined requests on one connection come back matched to their requests.
    let version = conn.api_version(ApiKey::METADATA).unwrap();
    let mut waiting = Vec::new();
    for _ in 0..20 {
        let request = MetadataRequest {
            topics: None,
            ..Default::default()
        };
        waiting.push(tokio::spawn({
            let conn = conn.clone();
            async move { conn.send(&request, version).await }
        }));
    }
    for w in waiting {
        let response = w.await.unwrap().unwrap();
        assert!(!response.brokers.is_empty());
    }
    assert!(conn.is_usable());
    assert_eq!(conn.stats().in_flight(), 0);
    pool.close().await;
    cluster.shutdown().await;
}
