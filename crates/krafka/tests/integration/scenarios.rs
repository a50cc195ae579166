//! The `Krafka` handle's `Admin`, a two-backend scenario: on krafka-mock by default, on the
//! real broker that `KRAFKA_BOOTSTRAP` names under `cargo xtask test`. Topics are created, described and deleted; a group is described while a member
//! holds its partitions, and its committed offsets and lag are read back.

use std::time::Duration;

use krafka::prelude::*;
use krafka_mock::ScenarioCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_topics_and_describes_groups() {
    let cluster = ScenarioCluster::start().await.unwrap();
    let topic = ScenarioCluster::unique_topic("krafka-admin");
    let group = ScenarioCluster::unique_topic("krafka-admin-group");
    let kafka = Krafka::builder(cluster.bootstrap())
        .client_id("krafka-admin-test")
        .connect()
        .await
        .unwrap();
    let admin = kafka.admin();

    admin
        .create_topics(&[krafka::NewTopic::new(&topic, 3)])
        .await
        .unwrap();
    assert!(admin.list_topics().await.unwrap().contains(&topic));
    let described = admin.describe_topic(&topic).await.unwrap();
    assert_eq!(described.partitions.len(), 3);
    assert!(described.partitions.iter().all(|p| p.leader >= 0));
    assert!(!admin.describe_cluster().await.unwrap().brokers.is_empty());

    // Ten records in each partition.
    let producer = kafka.producer().unwrap();
    for p in 0..3 {
        for i in 0..10 {
            producer
                .send(
                    ProducerRecord::new(topic.as_str())
                        .partition(p)
                        .value(format!("{i}")),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }
    producer.close().await;

    // A member reads everything and commits, and is described while it holds the partitions.
    let mut consumer = kafka
        .consumer_with(&group, |c| {
            c.auto_offset_reset(OffsetReset::Earliest)
                .heartbeat_interval(Duration::from_millis(200))
        })
        .unwrap();
    consumer.subscribe([topic.as_str()]).unwrap();
    let mut read = 0;
    while read < 30 {
        read += tokio::time::timeout(Duration::from_secs(30), consumer.poll(100))
            .await
            .expect("records")
            .unwrap()
            .len();
    }
    assert_eq!(read, 30);
    consumer.commit().await.unwrap();
    let live = admin.describe_group(&group).await.unwrap();
    assert_eq!(live.state, "Stable", "{live:?}");
    assert_eq!(live.protocol_type, "consumer");
    assert_eq!(live.members.len(), 1, "{live:?}");
    let member = &live.members[0];
    // Kafka (and tansu) name members after the client id.
    assert!(
        member.member_id.starts_with("krafka-admin-test-"),
        "{live:?}"
    );
    // tansu 0.6.0 leaves the assignor, client id, host and assignment blank; Kafka fills them.
    if !member.client_id.is_empty() {
        assert_eq!(member.client_id, "krafka-admin-test");
        assert_eq!(member.assignment, [(topic.clone(), vec![0, 1, 2])]);
        assert!(!live.assignor.is_empty(), "{live:?}");
    }

    let listed = admin.list_groups().await.unwrap();
    assert!(listed.iter().any(|g| g.group == group), "{listed:?}");
    let lag = admin.group_lag(&group).await.unwrap();
    let summary: Vec<(i32, i64, Option<i64>)> = lag
        .iter()
        .map(|l| (l.partition, l.committed, l.lag))
        .collect();
    // One record per batch: the log end is right even on tansu, whose high watermark is
    // the last batch's base offset + 1.
    assert_eq!(
        summary,
        [(0, 10, Some(0)), (1, 10, Some(0)), (2, 10, Some(0))]
    );
    consumer.close().await;
    let unknown = admin.describe_group("krafka-nobody").await.unwrap();
    assert!(unknown.members.is_empty(), "{unknown:?}");

    admin.delete_topics(&[topic.as_str()]).await.unwrap();
    assert!(!admin.list_topics().await.unwrap().contains(&topic));
    kafka.close().await;
    cluster.shutdown().await;
}
