//! A consumer-group member with a rebalance listener: records arrive in order per partition,
//! and offsets of the records handed out are committed in the background and on close.
//!
//! Run: `cargo run -p krafka-client --example consumer` (an embedded mock cluster, filled first), or
//! set `KRAFKA_BOOTSTRAP=host:port` to read the topic `orders` of a real one.

#![allow(clippy::print_stdout)]

use std::time::Duration;

use krafka::prelude::*;

/// Prints what the group gives and takes.
struct Log;

impl RebalanceListener for Log {
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        println!("assigned {partitions:?}");
    }

    fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
        offsets: &mut krafka::consumer::RevokedOffsets,
    ) {
        println!(
            "revoked {partitions:?}, committing {:?}",
            offsets.to_commit()
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = match std::env::var("KRAFKA_BOOTSTRAP") {
        Ok(_) => None,
        Err(_) => Some(
            krafka_mock::MockCluster::builder()
                .topic("orders", 4)
                .start()
                .await?,
        ),
    };
    let bootstrap = match &mock {
        Some(cluster) => cluster.bootstrap(),
        None => std::env::var("KRAFKA_BOOTSTRAP")?,
    };
    let kafka = Krafka::builder(bootstrap)
        .client_id("order-reader")
        .connect()
        .await?;
    if mock.is_some() {
        let producer = kafka.producer()?;
        for i in 0..20 {
            drop(
                producer
                    .send(ProducerRecord::new("orders").value(format!("order {i}")))
                    .await?,
            );
        }
        producer.close().await;
    }
    let mut consumer = kafka.consumer_with("order-readers", |c| {
        c.auto_offset_reset(OffsetReset::Earliest)
    })?;
    consumer.set_rebalance_listener(Log)?;
    consumer.subscribe(["orders"])?;
    // Until nothing new arrives for two seconds.
    while let Ok(records) = tokio::time::timeout(Duration::from_secs(2), consumer.poll(100)).await {
        for r in records? {
            println!(
                "{}-{}@{}: {}",
                r.topic(),
                r.partition(),
                r.offset(),
                String::from_utf8_lossy(r.value().unwrap_or_default())
            );
        }
    }
    // Commits what was handed out and leaves the group.
    consumer.close().await;
    kafka.close().await;
    if let Some(cluster) = mock {
        cluster.shutdown().await;
    }
    Ok(())
}
