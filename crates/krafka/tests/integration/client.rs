//! The `Krafka` handle against krafka-mock: a producer and a consumer built from one handle
//! share its connections, start from its profile, and round-trip records through a group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use krafka::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_handle_builds_a_producer_and_a_consumer_that_share_its_connections() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(2)
        .topic("orders", 4)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .client_id("svc")
        .profile(Profile::Latency)
        .connect()
        .await
        .unwrap();
    let producer = kafka.producer().unwrap();
    assert_eq!(
        producer.config().linger,
        Duration::ZERO,
        "the profile applies"
    );
    let mut consumer = kafka
        .consumer_with("readers", |c| {
            c.auto_offset_reset(OffsetReset::Earliest)
                .heartbeat_interval(Duration::from_millis(100))
        })
        .unwrap();
    assert_eq!(consumer.config().fetch_max_wait, Duration::from_millis(10));
    consumer.subscribe(["orders"]).unwrap();
    for i in 0..100 {
        producer
            .send(
                ProducerRecord::new("orders")
                    .key(format!("k{i}"))
                    .value("v"),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut got = 0;
    while got < 100 {
        got += tokio::time::timeout(Duration::from_secs(20), consumer.poll(100))
            .await
            .expect("records")
            .unwrap()
            .len();
    }
    assert_eq!(got, 100);
    // One data connection per broker for both clients (the consumer's group coordinator
    // dials its own, outside the pool).
    assert!(
        kafka.metadata().pool().dial_count() <= 2,
        "dials: {}",
        kafka.metadata().pool().dial_count()
    );
    consumer.close().await;
    producer.close().await;
    kafka.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_cluster_is_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Krafka::builder(format!("127.0.0.1:{port}"))
        .connect()
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("cannot reach the cluster"),
        "{err}"
    );
}

#[tokio::test]
async fn admin_creates_lists_describes_and_deletes_topics() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(3)
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let admin = kafka.admin();
    admin
        .create_topics(&[
            krafka::NewTopic::new("payments", 6)
                .replication_factor(3)
                .config("min.insync.replicas", "2"),
            krafka::NewTopic::new("audit", 1),
        ])
        .await
        .unwrap();
    assert_eq!(admin.list_topics().await.unwrap(), ["audit", "payments"]);
    let payments = admin.describe_topic("payments").await.unwrap();
    assert_eq!(payments.partitions.len(), 6);
    assert!(payments.partitions.iter().all(|p| p.leader >= 0));
    assert_eq!(
        payments
            .configs
            .get("min.insync.replicas")
            .map(String::as_str),
        Some("2")
    );
    let cluster_info = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster_info.brokers.len(), 3);
    // Creating it again is refused, naming the topic and the code.
    let again = admin
        .create_topics(&[krafka::NewTopic::new("audit", 1)])
        .await
        .unwrap_err();
    assert!(again.to_string().contains("audit"), "{again}");
    admin.delete_topics(&["audit"]).await.unwrap();
    assert_eq!(admin.list_topics().await.unwrap(), ["payments"]);
    // The broker's message repeats the code's description: said once.
    let gone = admin
        .delete_topics(&["audit"])
        .await
        .unwrap_err()
        .to_string();
    let description = krafka::protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.message();
    assert_eq!(gone.matches(description).count(), 1, "{gone}");
    let missing = admin.describe_topic("audit").await.unwrap_err();
    assert!(
        missing.to_string().contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{missing}"
    );
    kafka.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_groups_and_reports_their_lag() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(3)
        .topic("orders", 2)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let producer = kafka.producer().unwrap();
    for p in 0..2 {
        for i in 0..10 {
            producer
                .send(
                    ProducerRecord::new("orders")
                        .partition(p)
                        .value(format!("{i}")),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }
    // A group that read partition 0 to offset 7 and partition 1 to the end.
    let mut consumer = kafka.consumer("billing").unwrap();
    consumer
        .commit_offsets([
            (TopicPartition::new("orders", 0), 7),
            (TopicPartition::new("orders", 1), 10),
        ])
        .await
        .unwrap();
    consumer.close().await;
    let admin = kafka.admin();
    let groups = admin.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].group, "billing");
    let lag = admin.group_lag("billing").await.unwrap();
    let summary: Vec<(i32, i64, Option<i64>, Option<i64>)> = lag
        .iter()
        .map(|l| (l.partition, l.committed, l.end, l.lag))
        .collect();
    assert_eq!(
        summary,
        [(0, 7, Some(10), Some(3)), (1, 10, Some(10), Some(0))]
    );
    producer.close().await;
    kafka.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_describes_a_groups_members_and_their_partitions() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(3)
        .topic("orders", 4)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .client_id("svc")
        .connect()
        .await
        .unwrap();
    let admin = kafka.admin();
    let unknown = admin.describe_group("nobody").await.unwrap();
    assert_eq!((unknown.state.as_str(), unknown.members.len()), ("Dead", 0));

    // Two members, one of them static, polling until told to stop.
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut members = Vec::new();
    for instance in [None, Some("billing-1")] {
        let mut consumer = kafka
            .consumer_with("billing", |c| {
                let c = c.heartbeat_interval(Duration::from_millis(100));
                match instance {
                    Some(id) => c.group_instance_id(id),
                    None => c,
                }
            })
            .unwrap();
        consumer.subscribe(["orders"]).unwrap();
        let mut stopped = stop.subscribe();
        members.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    polled = consumer.poll(100) => { polled.unwrap(); }
                }
            }
            consumer.close().await;
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let described = loop {
        let d = admin.describe_group("billing").await.unwrap();
        let assigned: usize = d
            .members
            .iter()
            .flat_map(|m| &m.assignment)
            .map(|(_, ps)| ps.len())
            .sum();
        if d.state == "Stable" && d.members.len() == 2 && assigned == 4 {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never stable: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(described.protocol_type, "consumer");
    assert!(!described.assignor.is_empty(), "{described:?}");
    let mut partitions: Vec<i32> = described
        .members
        .iter()
        .flat_map(|m| &m.assignment)
        .inspect(|(topic, _)| assert_eq!(topic, "orders"))
        .flat_map(|(_, ps)| ps.iter().copied())
        .collect();
    partitions.sort_unstable();
    assert_eq!(
        partitions,
        [0, 1, 2, 3],
        "each partition to exactly one member"
    );
    for m in &described.members {
        assert_eq!(m.client_id, "svc");
        assert_eq!(m.host, "/127.0.0.1");
        assert!(!m.assignment.is_empty(), "{m:?}");
    }
    let static_ids: Vec<_> = described
        .members
        .iter()
        .filter_map(|m| m.instance_id.as_deref())
        .collect();
    assert_eq!(static_ids, ["billing-1"]);

    stop.send_replace(true);
    for m in members {
        m.await.unwrap();
    }
    kafka.close().await;
    cluster.shutdown().await;
}

/// `Admin`'s read calls claim cancel safety: one dropped while its request is at the broker
/// leaves the shared connections fit for the next call, which gets its own answer (not the
/// abandoned one's), both at once and after the abandoned answer has arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_dropped_mid_request_leave_the_client_working() {
    use krafka::protocol::ApiKey;
    use krafka_mock::{Control, Times};

    let cluster = krafka_mock::MockCluster::builder()
        .brokers(3)
        .topic("orders", 2)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let mut consumer = kafka.consumer("billing").unwrap();
    consumer
        .commit_offsets([(TopicPartition::new("orders", 1), 0)])
        .await
        .unwrap();
    consumer.close().await;
    let admin = kafka.admin();
    let hold = Duration::from_millis(300);
    for api in [
        ApiKey::DESCRIBE_GROUPS,
        ApiKey::OFFSET_FETCH,
        ApiKey::LIST_GROUPS,
        ApiKey::DESCRIBE_CONFIGS,
    ] {
        for after in [Duration::ZERO, hold * 2] {
            cluster.on(api, Times::Once, move |_| Control::Delay(hold));
            let dropped = async {
                match api {
                    ApiKey::DESCRIBE_GROUPS => admin.describe_group("billing").await.map(drop),
                    ApiKey::OFFSET_FETCH => admin.group_lag("billing").await.map(drop),
                    ApiKey::LIST_GROUPS => admin.list_groups().await.map(drop),
                    _ => admin.describe_topic("orders").await.map(drop),
                }
            };
            let abandoned = tokio::time::timeout(hold / 3, dropped).await;
            assert!(abandoned.is_err(), "{api:?}: the held request completed");
            tokio::time::sleep(after).await;

            let described = admin.describe_group("billing").await.unwrap();
            assert_eq!(
                (described.state.as_str(), described.members.len()),
                ("Empty", 0)
            );
            let lag = admin.group_lag("billing").await.unwrap();
            assert_eq!(
                lag.iter()
                    .map(|l| (l.partition, l.committed))
                    .collect::<Vec<_>>(),
                [(1, 0)],
                "{api:?}"
            );
            let groups = admin.list_groups().await.unwrap();
            assert_eq!(groups.len(), 1, "{api:?}: {groups:?}");
            let topic = admin.describe_topic("orders").await.unwrap();
            assert_eq!(topic.partitions.len(), 2, "{api:?}");
        }
    }
    kafka.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_can_refuse_to_create_topics_on_request() {
    let cluster = krafka_mock::MockCluster::builder()
        .topic("orders", 1)
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .allow_auto_create_topics(false)
        .connect()
        .await
        .unwrap();
    let producer = kafka
        .producer_with(|p| p.max_block(Duration::from_millis(300)))
        .unwrap();
    let refused = producer
        .send(ProducerRecord::new("ghost").value("v"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("ghost"), "{refused}");
    assert!(cluster.state().topic("ghost").is_none());
    producer.close().await;
    kafka.close().await;

    // The default asks, and the broker creates it.
    let kafka = Krafka::builder(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let producer = kafka.producer().unwrap();
    producer
        .send(ProducerRecord::new("ghost").value("v"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(cluster.state().topic("ghost").is_some());
    producer.close().await;
    kafka.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_call_to_a_broker_without_the_api_says_so_instead_of_sending_v0() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(1)
        .start()
        .await
        .unwrap();
    // The broker stops advertising DeleteTopics (no version at all).
    cluster.restrict_versions(1, krafka::protocol::ApiKey::DELETE_TOPICS, Some(-1));
    let kafka = Krafka::builder(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let error = kafka
        .admin()
        .delete_topics(&["anything"])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("DeleteTopics"), "{error}");
    assert!(error.contains("supports no version of"), "{error}");
    kafka.close().await;
    cluster.shutdown().await;
}
