//! Testing an application against krafka-mock: a real Kafka wire protocol on 127.0.0.1, no
//! broker to install, and faults on demand. Here the application's "send an order" function is
//! checked to survive a leader that refuses its first produce.
//!
//! Run: `cargo run -p krafka-client --example testing_with_mock` (or copy the pattern into a
//! `#[tokio::test]`).

#![allow(clippy::print_stdout, clippy::expect_used)]

use krafka::prelude::*;
use krafka::protocol::{ApiKey, ErrorCode};
use krafka_mock::{Control, MockCluster, Times};

/// The application code under test.
async fn send_order(producer: &Producer, id: u32) -> Result<i64, Box<dyn std::error::Error>> {
    let written = producer
        .send(
            ProducerRecord::new("orders")
                .key(id.to_string())
                .value("{}"),
        )
        .await?
        .await?;
    Ok(written.offset.unwrap_or(-1))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("orders", 3)
        .start()
        .await?;
    // The first Produce is refused as if the leader had just moved: the producer must refresh
    // its metadata and retry, without duplicating the record.
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::Error(ErrorCode::NOT_LEADER_OR_FOLLOWER)
    });
    let kafka = Krafka::builder(cluster.bootstrap()).connect().await?;
    let producer = kafka.producer()?;
    let offset = send_order(&producer, 7).await?;
    producer.close().await;

    // What the broker holds: the record once.
    let stored: usize = (0..3).map(|p| cluster.records("orders", p).len()).sum();
    assert_eq!(stored, 1, "the retry must not duplicate the record");
    println!("order 7 written once, at offset {offset}, despite the refused first attempt");
    kafka.close().await;
    cluster.shutdown().await;
    Ok(())
}
