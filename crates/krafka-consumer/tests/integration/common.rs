//! Shared helpers: a mock cluster, records appended straight into its logs (so these tests
//! need no producer), and a consumer builder.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use krafka_consumer::{ConsumerBuilder, ConsumerRecord, OffsetReset, TopicPartition};
use krafka_mock::MockCluster;
use krafka_protocol::compression::{Codecs, Compression};
use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};

pub async fn cluster(brokers: i32, topic: &str, partitions: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(brokers)
        .topic(topic, partitions)
        .start()
        .await
        .unwrap()
}

/// The value of record `i` of a partition: distinct across partitions.
pub fn value(partition: i32, i: usize) -> Vec<u8> {
    format!("p{partition}-r{i}-").repeat(4).into_bytes()
}

/// Appends `count` records (values from [`value`], starting at `from`) in batches of `per_batch`
/// to a partition's log, as a producer would, and wakes waiting fetches.
pub fn append(
    cluster: &MockCluster,
    topic: &str,
    partition: i32,
    from: usize,
    count: usize,
    per_batch: usize,
    compression: Compression,
) {
    let state = cluster.state();
    let t = state.topic(topic).unwrap();
    let part = &t.partitions[partition as usize];
    let mut i = from;
    while i < from + count {
        let mut builder = RecordBatchBuilder::new(BatchOptions {
            compression,
            ..Default::default()
        });
        let end = (i + per_batch).min(from + count);
        for r in i..end {
            let key = format!("k{r}");
            builder
                .append(
                    1_700_000_000_000 + r as i64,
                    Some(key.as_bytes()),
                    Some(&value(partition, r)),
                    &[],
                )
                .unwrap();
        }
        let batch: Bytes = builder.finish(&Codecs::default()).unwrap();
        part.log.lock().append(&batch, part.leader_epoch()).unwrap();
        i = end;
    }
    state.data_arrived.notify_waiters();
}

pub fn builder(cluster: &MockCluster) -> ConsumerBuilder {
    ConsumerBuilder::new()
        .bootstrap_servers(cluster.bootstrap())
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(50))
}

pub fn tps(topic: &str, partitions: i32) -> Vec<TopicPartition> {
    (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect()
}

/// Receives until `count` records have arrived (or 20 s pass, which fails the test).
pub async fn receive(
    consumer: &mut krafka_consumer::Consumer,
    count: usize,
) -> Vec<ConsumerRecord> {
    let mut out = Vec::with_capacity(count);
    tokio::time::timeout(Duration::from_secs(20), async {
        while out.len() < count {
            out.extend(consumer.poll(count - out.len()).await.unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("received {} of {count} records", out.len()));
    out
}

/// Checks that each partition's records are exactly offsets `0..per_partition` in order, with
/// the values [`append`] wrote.
pub fn assert_complete_in_order(records: &[ConsumerRecord], partitions: i32, per_partition: usize) {
    for p in 0..partitions {
        let got: Vec<&ConsumerRecord> = records.iter().filter(|r| r.partition() == p).collect();
        assert_eq!(got.len(), per_partition, "partition {p}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.offset(), i as i64, "partition {p}");
            assert_eq!(
                r.value().unwrap(),
                value(p, i).as_slice(),
                "partition {p} offset {i}"
            );
        }
    }
}

/// Prints the crate's tracing events when `RUST_LOG` is set (for debugging a failing test).
pub fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
