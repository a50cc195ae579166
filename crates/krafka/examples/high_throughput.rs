//! High-throughput tuning: the `Throughput` profile (256 KiB batches, linger 20 ms, lz4,
//! 64 MiB of buffer memory; fetches of at least 64 KiB), a window of outstanding deliveries,
//! and the producer's metrics to see what the batches look like.
//!
//! Run: `cargo run --release -p krafka-client --example high_throughput` (an embedded mock cluster),
//! or set `KRAFKA_BOOTSTRAP=host:port`.

#![allow(clippy::print_stdout)]

use std::collections::VecDeque;
use std::time::Instant;

use krafka::prelude::*;

const RECORDS: usize = 500_000;
const WINDOW: usize = 50_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = match std::env::var("KRAFKA_BOOTSTRAP") {
        Ok(_) => None,
        Err(_) => Some(
            krafka_mock::MockCluster::builder()
                .brokers(3)
                .topic("events", 12)
                .start()
                .await?,
        ),
    };
    let bootstrap = match &mock {
        Some(cluster) => cluster.bootstrap(),
        None => std::env::var("KRAFKA_BOOTSTRAP")?,
    };
    let kafka = Krafka::builder(bootstrap)
        .profile(Profile::Throughput)
        .connect()
        .await?;
    let producer = kafka.producer()?;
    let value = bytes::Bytes::from(vec![b'x'; 200]);
    let started = Instant::now();
    let mut pending = VecDeque::with_capacity(WINDOW);
    for _ in 0..RECORDS {
        // The value is shared, not copied, and encoded once into its batch.
        pending.push_back(
            producer
                .send(ProducerRecord::new("events").value(value.clone()))
                .await?,
        );
        if pending.len() == WINDOW
            && let Some(oldest) = pending.pop_front()
        {
            oldest.await?;
        }
    }
    for delivery in pending {
        delivery.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{RECORDS} records of 200 B in {seconds:.2} s: {:.0} records/s",
        RECORDS as f64 / seconds
    );
    println!("producer metrics: {:?}", producer.metrics());
    producer.close().await;
    kafka.close().await;
    if let Some(cluster) = mock {
        cluster.shutdown().await;
    }
    Ok(())
}
