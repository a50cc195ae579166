//! Helpers shared by the producer's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use krafka_mock::MockCluster;
use krafka_producer::{Producer, ProducerBuilder};

pub async fn cluster(brokers: i32, topic: &str, partitions: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(brokers)
        .topic(topic, partitions)
        .start()
        .await
        .unwrap()
}

/// A builder with test-friendly timings.
pub fn builder(cluster: &MockCluster) -> ProducerBuilder {
    ProducerBuilder::new()
        .bootstrap_servers(cluster.bootstrap())
        .retry_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .max_block(Duration::from_secs(10))
}

pub async fn producer(cluster: &MockCluster) -> Producer {
    builder(cluster).connect().await.unwrap()
}

/// The record values (as big-endian u32) stored in a partition, in log order.
pub fn log_values(cluster: &MockCluster, topic: &str, partition: i32) -> Vec<u32> {
    cluster
        .records(topic, partition)
        .iter()
        .map(|r| u32::from_be_bytes(r.value().unwrap().try_into().unwrap()))
        .collect()
}

/// A 4-byte value holding `n`.
pub fn value(n: u32) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(&n.to_be_bytes())
}

/// Sends `n` values 0..n (as [`value`]) to `topic` and returns their futures, in order.
pub async fn send_values(
    producer: &Producer,
    topic: &str,
    n: u32,
) -> Vec<krafka_producer::DeliveryFuture> {
    let mut futures = Vec::new();
    for i in 0..n {
        let record = krafka_producer::ProducerRecord::new(topic).value(value(i));
        futures.push(producer.send(record).await.unwrap());
    }
    futures
}
