//! Records for a dedicated, non-async thread (a legacy blocking pipeline, a CPU-bound
//! parser), fed through a bounded channel: when the thread falls behind, the channel fills,
//! the consumer stops taking records and the fetcher stops fetching.
//!
//! A batch counts as processed when the thread asks for the next one, and `close` commits
//! every record the thread was given, so a restart resumes after the last processed record.
//!
//! Run: `cargo run -p krafka-consumer --example dedicated_thread` (an embedded mock cluster),
//! or set `KRAFKA_BOOTSTRAP=host:port` to use a real one.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use krafka_consumer::{ConsumerBuilder, OffsetReset};
use krafka_producer::{ProducerBuilder, ProducerRecord};

const TOPIC: &str = "events";
const RECORDS: usize = 50_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = match std::env::var("KRAFKA_BOOTSTRAP") {
        Ok(_) => None,
        Err(_) => Some(
            krafka_mock::MockCluster::builder()
                .topic(TOPIC, 4)
                .start()
                .await?,
        ),
    };
    let bootstrap = match &mock {
        Some(cluster) => cluster.bootstrap(),
        None => std::env::var("KRAFKA_BOOTSTRAP")?,
    };
    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap.clone())
        .connect()
        .await?;
    for i in 0..RECORDS {
        drop(
            producer
                .send(ProducerRecord::new(TOPIC).value(format!("event {i}").into_bytes()))
                .await?,
        );
    }
    producer.close().await;

    let mut consumer = ConsumerBuilder::new()
        .bootstrap_servers(bootstrap)
        .group_id("event-pipeline")
        .auto_offset_reset(OffsetReset::Earliest)
        .connect()
        .await?;
    consumer.subscribe([TOPIC])?;
    // At most 4 batches of 500 records wait for the thread.
    let mut receiver = consumer.into_blocking(4, 500);

    let worker = std::thread::spawn(move || {
        let started = Instant::now();
        let mut bytes = 0usize;
        let mut count = 0usize;
        while count < RECORDS {
            match receiver.recv_timeout(Duration::from_secs(10)) {
                Ok(Some(record)) => {
                    // The blocking work goes here.
                    bytes += record.value().map_or(0, <[u8]>::len);
                    count += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    println!("consumer failed: {e}");
                    break;
                }
            }
        }
        // Commits what this thread processed, leaves the group, waits for the consumer.
        receiver.close();
        (count, bytes, started.elapsed())
    });
    let (count, bytes, elapsed) = tokio::task::spawn_blocking(move || worker.join())
        .await?
        .map_err(|_| "the worker thread panicked")?;
    println!(
        "the thread processed {count} records ({bytes} B) in {elapsed:.2?} ({:.0}/s)",
        count as f64 / elapsed.as_secs_f64()
    );
    if let Some(cluster) = mock {
        cluster.shutdown().await;
    }
    Ok(())
}
