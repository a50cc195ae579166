//! A producer: keyed records, each awaited for its offset, through one `Krafka` handle.
//!
//! Run: `cargo run -p krafka-client --example producer` (an embedded mock cluster), or set
//! `KRAFKA_BOOTSTRAP=host:port` to use a real one (the topic `orders` must exist there).

#![allow(clippy::print_stdout)]

use krafka::prelude::*;

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
        .client_id("order-service")
        .connect()
        .await?;
    let producer = kafka.producer()?;
    for i in 0..10 {
        // `send` returns once the record is buffered; awaiting its future waits for the
        // broker (acks=all, idempotent: retries never duplicate or reorder it).
        let written = producer
            .send(
                ProducerRecord::new("orders")
                    .key(format!("customer-{}", i % 3))
                    .value(format!("{{\"order\":{i}}}"))
                    .header("source", Some("example".into())),
            )
            .await?
            .await?;
        println!(
            "order {i} → partition {} offset {:?}",
            written.partition, written.offset
        );
    }
    producer.close().await;
    kafka.close().await;
    if let Some(cluster) = mock {
        cluster.shutdown().await;
    }
    Ok(())
}
