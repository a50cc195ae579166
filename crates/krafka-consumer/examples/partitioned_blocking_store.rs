//! A consumer-group service that writes every record to a slow, blocking key-value store,
//! with bounded concurrency and backpressure instead of unbounded buffering.
//!
//! `process_partitioned` runs at most `MAX_IN_FLIGHT` store writes at once, keeps each
//! partition's records in order, and commits only offsets whose records (and all before them)
//! are stored. The blocking call goes through `spawn_blocking`, so it never stalls the
//! runtime that heartbeats and fetches. Concurrency is also bounded by the partitions: one
//! record per partition at a time, so the topic has at least `MAX_IN_FLIGHT` of them.
//!
//! Run: `cargo run -p krafka-consumer --example partitioned_blocking_store` (an embedded mock
//! cluster), or set `KRAFKA_BOOTSTRAP=host:port` to use a real one.

#![allow(clippy::print_stdout, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use krafka_consumer::{ConsumerBuilder, OffsetReset};
use krafka_producer::{ProducerBuilder, ProducerRecord};
use parking_lot::Mutex;

const TOPIC: &str = "orders";
const RECORDS: usize = 20_000;
const MAX_IN_FLIGHT: usize = 32;

/// Stands in for a blocking client (a database driver, an embedded store): 200 µs a write.
#[derive(Default)]
struct SlowStore {
    rows: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

impl SlowStore {
    fn put(&self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        std::thread::sleep(Duration::from_micros(200));
        self.rows.lock().insert(key.to_vec(), value.to_vec());
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = match std::env::var("KRAFKA_BOOTSTRAP") {
        Ok(_) => None,
        Err(_) => Some(
            krafka_mock::MockCluster::builder()
                .brokers(3)
                .topic(TOPIC, 32)
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
        let record = ProducerRecord::new(TOPIC)
            .key(format!("order-{i}").into_bytes())
            .value(format!("{{\"id\":{i}}}").into_bytes());
        // Resolves when the broker has the record; the send itself only waits for buffer room.
        drop(producer.send(record).await?);
    }
    producer.close().await;

    let mut consumer = ConsumerBuilder::new()
        .bootstrap_servers(bootstrap)
        .group_id("order-writer")
        .auto_offset_reset(OffsetReset::Earliest)
        // The prefetch budget: what may wait in memory while the store is slow.
        .max_buffered_bytes(8 * 1024 * 1024)
        .connect()
        .await?;
    consumer.subscribe([TOPIC])?;

    let store = Arc::new(SlowStore::default());
    let stored = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let done = {
        let stored = Arc::clone(&stored);
        async move {
            while stored.load(Ordering::Relaxed) < RECORDS {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    consumer
        .process_partitioned_until(MAX_IN_FLIGHT, done, |record| {
            let (store, stored) = (Arc::clone(&store), Arc::clone(&stored));
            async move {
                // Zero-copy views of the fetched buffer; cheap to move to the blocking pool.
                let key = record.key_bytes().unwrap_or_default();
                let value = record.value_bytes().unwrap_or_default();
                tokio::task::spawn_blocking(move || store.put(&key, &value))
                    .await
                    .expect("the store call panicked")?;
                stored.fetch_add(1, Ordering::Relaxed);
                Ok::<(), std::io::Error>(())
            }
        })
        .await?;
    let elapsed = started.elapsed();
    // Commits what was stored and leaves the group.
    consumer.close().await;
    println!(
        "stored {} records in {:.2?} ({:.0}/s) with {MAX_IN_FLIGHT} writes in flight",
        store.rows.lock().len(),
        elapsed,
        RECORDS as f64 / elapsed.as_secs_f64()
    );
    if let Some(cluster) = mock {
        cluster.shutdown().await;
    }
    Ok(())
}
