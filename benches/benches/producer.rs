//! Producer throughput and client CPU against the mock broker running as a separate process
//! (this binary re-executes itself as the broker, so the client's CPU time is its own).
//!
//! Workloads: 100 B and 1 KiB keyed records to 1 and 8 partitions, acks=all, idempotent,
//! linger 5 ms, batch 16 KiB (the Java defaults), every record's outcome awaited. Reports
//! records/s, MB/s, and client CPU seconds per million records (user + system time of this
//! process, from /proc/self/stat).
//!
//! Run: `cargo bench -p krafka-benches --bench producer` (add `-- --quick` for fewer records).
//! Under `cargo test --all-targets` it runs a small smoke workload.

#![allow(missing_docs)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use krafka_benches::{BrokerProcess, cpu_seconds, serve_until_stdin_closes};
use krafka_producer::{ProducerBuilder, ProducerRecord};

const ROLE: &str = "KRAFKA_BENCH_BROKER";
/// Outstanding delivery futures before the oldest is awaited.
const WINDOW: usize = 100_000;

/// The broker process: a mock cluster with the bench topics, until stdin closes.
fn broker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cluster = krafka_mock::MockCluster::builder()
            .topic("p1", 1)
            .topic("p8", 8)
            .start()
            .await
            .unwrap();
        serve_until_stdin_closes(cluster).await.unwrap();
    });
}

struct Workload {
    topic: &'static str,
    partitions: usize,
    size: usize,
    records: usize,
}

async fn produce(bootstrap: &str, w: &Workload) -> (f64, f64, f64) {
    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .connect()
        .await
        .unwrap();
    let topic: Arc<str> = w.topic.into();
    let keys: Vec<Bytes> = (0..1000).map(|i| Bytes::from(format!("key-{i}"))).collect();
    let value = Bytes::from(vec![b'x'; w.size]);
    // Warm up: producer id and metadata.
    producer
        .send(ProducerRecord::new(topic.clone()).value(value.clone()))
        .await
        .unwrap()
        .await
        .unwrap();
    let cpu = cpu_seconds().unwrap();
    let started = Instant::now();
    let mut window = VecDeque::with_capacity(WINDOW);
    for i in 0..w.records {
        let record = ProducerRecord {
            topic: topic.clone(),
            partition: None,
            key: Some(keys[i % keys.len()].clone()),
            value: Some(value.clone()),
            headers: Vec::new(),
            timestamp: None,
        };
        window.push_back(producer.send(record).await.unwrap());
        if window.len() >= WINDOW {
            window.pop_front().unwrap().await.unwrap();
        }
    }
    for f in window {
        f.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap() - cpu;
    let m = producer.metrics();
    assert_eq!(m.records_failed, 0);
    producer.close().await;
    let rate = w.records as f64 / elapsed;
    let mb = rate * w.size as f64 / 1e6;
    (rate, mb, cpu / (w.records as f64 / 1e6))
}

fn main() {
    if std::env::var_os(ROLE).is_some() {
        broker();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let scale = if !has("--bench") {
        0.01
    } else if has("--quick") {
        0.2
    } else {
        1.0
    };
    let broker = BrokerProcess::spawn(ROLE, &[]).unwrap();
    let bootstrap = broker.bootstrap.clone();

    let n = |records: f64| ((records * scale) as usize).max(1000);
    let workloads = [
        Workload {
            topic: "p8",
            partitions: 8,
            size: 100,
            records: n(1_000_000.0),
        },
        Workload {
            topic: "p1",
            partitions: 1,
            size: 100,
            records: n(1_000_000.0),
        },
        Workload {
            topic: "p8",
            partitions: 8,
            size: 1000,
            records: n(200_000.0),
        },
        Workload {
            topic: "p1",
            partitions: 1,
            size: 1000,
            records: n(200_000.0),
        },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| workload | records/s | MB/s | client CPU-s per 1M records |");
    println!("|---|---|---|---|");
    for w in &workloads {
        let (rate, mb, cpu) = runtime.block_on(produce(&bootstrap, w));
        println!(
            "| {} × {} B, {} partition(s) | {:.0}k | {:.1} | {:.2} |",
            w.records,
            w.size,
            w.partitions,
            rate / 1e3,
            mb,
            cpu
        );
    }
    broker.stop();
}
