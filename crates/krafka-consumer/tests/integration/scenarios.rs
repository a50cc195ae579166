//! The consumer's two-backend scenario: on krafka-mock by default, on the real broker that
//! `KRAFKA_BOOTSTRAP` names under `cargo xtask test` (see `krafka_mock::scenario`).
//!
//! A consumer-group round trip: FindCoordinator, JoinGroup/SyncGroup, fetching, OffsetCommit,
//! OffsetFetch, LeaveGroup. One member reads the first half of every partition and commits;
//! a second member of the group resumes exactly there and reads the rest; then two members
//! share the topic at once. Each half is produced before it is read, so every committed
//! offset is a batch boundary (tansu may skip the rest of a batch when a fetch starts inside
//! one), and the reads stop on record counts, not the high watermark (tansu reports it as the
//! last batch's base offset + 1). Fetch waits are short: tansu sleeps through part of them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use krafka_consumer::{Consumer, ConsumerBuilder, OffsetReset, TopicPartition};
use krafka_mock::ScenarioCluster;
use krafka_producer::{ProducerBuilder, ProducerRecord};

const PARTITIONS: i32 = 3;
const HALF: usize = 150;

/// Produces `HALF` records to every partition, values "p{partition}-{n}" from `from`.
async fn produce(bootstrap: &str, topic: &str, from: usize) {
    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .connect()
        .await
        .unwrap();
    let mut pending = Vec::new();
    for p in 0..PARTITIONS {
        for n in from..from + HALF {
            let record = ProducerRecord::new(topic.to_owned())
                .partition(p)
                .value(format!("p{p}-{n}").into_bytes());
            pending.push(producer.send(record).await.unwrap());
        }
    }
    for f in pending {
        f.await.unwrap();
    }
    producer.close().await;
}

fn member(bootstrap: &str, group: &str, name: &str) -> ConsumerBuilder {
    ConsumerBuilder::new()
        .bootstrap_servers(bootstrap)
        .group_id(group)
        .client_id(name)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(10))
        .heartbeat_interval(Duration::from_millis(500))
        .session_timeout(Duration::from_secs(10))
}

/// Receives until `count` values have arrived; returns them as (partition, value).
async fn read(consumer: &mut Consumer, count: usize) -> Vec<(i32, String)> {
    let mut out = Vec::with_capacity(count);
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "read {} of {count} records",
            out.len()
        );
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), consumer.poll(500)).await
        {
            for r in got.unwrap() {
                let value = String::from_utf8(r.value().unwrap().to_vec()).unwrap();
                out.push((r.partition(), value));
            }
        }
    }
    out
}

fn expected(from: usize) -> BTreeSet<(i32, String)> {
    (0..PARTITIONS)
        .flat_map(|p| (from..from + HALF).map(move |n| (p, format!("p{p}-{n}"))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_group_round_trips() {
    crate::common::trace();
    let cluster = ScenarioCluster::start().await.unwrap();
    let bootstrap = cluster.bootstrap();
    let topic = ScenarioCluster::unique_topic("krafka-consumer");
    let group = ScenarioCluster::unique_topic("krafka-group");
    cluster.create_topic(&topic, PARTITIONS).await.unwrap();

    // One member reads the first half of every partition and commits on close.
    produce(bootstrap, &topic, 0).await;
    let mut first = member(bootstrap, &group, "first").connect().await.unwrap();
    first.subscribe([topic.as_str()]).unwrap();
    let got = read(&mut first, HALF * PARTITIONS as usize).await;
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected(0));
    assert_eq!(got.len(), HALF * PARTITIONS as usize, "nothing twice");
    assert_eq!(first.assignment().len(), PARTITIONS as usize);
    first.commit().await.unwrap();
    let partitions: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(topic.as_str(), p))
        .collect();
    let committed = first.committed(partitions.clone()).await.unwrap();
    for tp in &partitions {
        assert_eq!(committed[tp], Some(HALF as i64), "{tp}");
    }
    first.close().await;

    // The next member of the group resumes exactly at the commits.
    produce(bootstrap, &topic, HALF).await;
    let mut second = member(bootstrap, &group, "second").connect().await.unwrap();
    second.subscribe([topic.as_str()]).unwrap();
    let got = read(&mut second, HALF * PARTITIONS as usize).await;
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), expected(HALF));
    assert_eq!(got.len(), HALF * PARTITIONS as usize, "nothing twice");
    second.close().await;

    // Two members at once share the partitions between them. Not on tansu 0.6.0: it may answer
    // a follower's SyncGroup with REBALANCE_IN_PROGRESS before the leader's SyncGroup arrives
    // (Kafka, and the mock, hold it), and the group then rebalances over and over (measured:
    // 1 run in about 35). Two-member groups are covered on the mock here and in groups.rs.
    if cluster.is_tansu() {
        cluster.shutdown().await;
        return;
    }
    let group2 = format!("{group}-pair");
    let mut a = member(bootstrap, &group2, "a").connect().await.unwrap();
    let mut b = member(bootstrap, &group2, "b").connect().await.unwrap();
    a.subscribe([topic.as_str()]).unwrap();
    b.subscribe([topic.as_str()]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ta, tb) = (a.assignment(), b.assignment());
        let all: BTreeSet<_> = ta.iter().chain(&tb).collect();
        if !ta.is_empty() && !tb.is_empty() && all.len() == PARTITIONS as usize {
            assert_eq!(ta.len() + tb.len(), PARTITIONS as usize, "{ta:?} {tb:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no shared assignment: {ta:?} {tb:?}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(50), a.poll(500)).await;
        let _ = tokio::time::timeout(Duration::from_millis(50), b.poll(500)).await;
    }
    a.close().await;
    b.close().await;
    cluster.shutdown().await;
}
