//! Consumer throughput, client CPU, fetch-session savings and batched offset lookups, against
//! the mock broker running as a separate process (this binary re-executes itself as the
//! broker, so the client's CPU time is its own).
//!
//! - Throughput: 100 B and 1 KiB records preloaded into 1 and 8 partitions, read from the
//!   start with the default settings; records/s, MB/s and client CPU seconds per million.
//! - Fetch sessions: 1,000 partitions on one broker, ten of them written to while the consumer
//!   reads; the mean size of the full fetch (what every request is without sessions) against
//!   the mean incremental one.
//! - Offset lookups: 50 partitions led by 3 brokers; the ListOffsets requests and the time
//!   until every partition has a position.
//!
//! Run: `cargo bench -p krafka-benches --bench consumer` (add `-- --quick` for fewer records).
//! Under `cargo test --all-targets` it runs a small smoke workload.

#![allow(missing_docs)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_benches::{BrokerProcess, cpu_seconds, serve_until_stdin_closes};
use krafka_consumer::{ConsumerBuilder, OffsetReset, TopicPartition};
use krafka_producer::{ProducerBuilder, ProducerRecord};
use krafka_protocol::compression::Codecs;
use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};

const ROLE: &str = "KRAFKA_BENCH_BROKER";
/// Records per preloaded batch (about 16 KiB of 100 B records, as a producer would send).
const PER_BATCH: usize = 128;

struct Workload {
    topic: &'static str,
    partitions: i32,
    size: usize,
    records: usize,
}

fn workloads(scale: f64) -> [Workload; 4] {
    let n = |records: f64| ((records * scale) as usize).max(1000);
    [
        Workload {
            topic: "c8",
            partitions: 8,
            size: 100,
            records: n(1_000_000.0),
        },
        Workload {
            topic: "c1",
            partitions: 1,
            size: 100,
            records: n(1_000_000.0),
        },
        Workload {
            topic: "k8",
            partitions: 8,
            size: 1000,
            records: n(200_000.0),
        },
        Workload {
            topic: "k1",
            partitions: 1,
            size: 1000,
            records: n(200_000.0),
        },
    ]
}

/// Appends `count` records of `size` bytes to a partition of the broker's log.
fn preload(
    cluster: &krafka_mock::MockCluster,
    topic: &str,
    partition: i32,
    count: usize,
    size: usize,
) {
    let state = cluster.state();
    let t = state.topic(topic).unwrap();
    let part = &t.partitions[partition as usize];
    let value = vec![b'x'; size];
    let mut written = 0;
    while written < count {
        let mut builder = RecordBatchBuilder::new(BatchOptions::default());
        let end = (written + PER_BATCH).min(count);
        for r in written..end {
            let key = format!("key-{}", r % 1000);
            builder
                .append(1_700_000_000_000, Some(key.as_bytes()), Some(&value), &[])
                .unwrap();
        }
        let batch: Bytes = builder.finish(&Codecs::default()).unwrap();
        part.log.lock().append(&batch, part.leader_epoch()).unwrap();
        written = end;
    }
}

/// The broker process: a mock cluster with the bench topics preloaded, until stdin closes.
fn broker(scale: f64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut builder = krafka_mock::MockCluster::builder()
            .brokers(3)
            .topic("s1000", 1000)
            .topic("o50", 50);
        for w in &workloads(scale) {
            builder = builder.topic(w.topic, w.partitions);
        }
        let cluster = builder.start().await.unwrap();
        for w in &workloads(scale) {
            let per = w.records / w.partitions as usize;
            for p in 0..w.partitions {
                preload(&cluster, w.topic, p, per, w.size);
            }
        }
        // All of s1000 on one broker, so one session holds its thousand partitions.
        for p in 0..1000 {
            cluster.move_leader("s1000", p, 1);
        }
        serve_until_stdin_closes(cluster).await.unwrap();
    });
}

fn consumer(bootstrap: &str) -> ConsumerBuilder {
    ConsumerBuilder::new()
        .bootstrap_servers(bootstrap)
        .auto_offset_reset(OffsetReset::Earliest)
}

fn partitions(topic: &str, count: i32) -> Vec<TopicPartition> {
    (0..count).map(|p| TopicPartition::new(topic, p)).collect()
}

/// Reads a preloaded workload from the start; (records/s, MB/s, CPU-s per 1M records).
async fn consume(bootstrap: &str, w: &Workload) -> (f64, f64, f64) {
    let expected = w.records / w.partitions as usize * w.partitions as usize;
    let mut c = consumer(bootstrap).connect().await.unwrap();
    let cpu = cpu_seconds().unwrap();
    let started = Instant::now();
    c.assign(partitions(w.topic, w.partitions)).unwrap();
    let mut got = 0;
    let mut bytes = 0;
    while got < expected {
        for record in c.poll(500).await.unwrap() {
            bytes += record.value().map_or(0, <[u8]>::len);
            got += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap() - cpu;
    assert_eq!(bytes, expected * w.size);
    c.close().await;
    let rate = got as f64 / elapsed;
    (rate, rate * w.size as f64 / 1e6, cpu / (got as f64 / 1e6))
}

/// Reads 1,000 partitions while ten of them are written to; (mean full fetch bytes, mean
/// incremental fetch bytes, incremental fetches).
async fn sessions(bootstrap: &str, records: usize) -> (f64, f64, u64) {
    let mut c = consumer(bootstrap)
        .fetch_max_wait(Duration::from_millis(20))
        .connect()
        .await
        .unwrap();
    c.assign(partitions("s1000", 1000)).unwrap();
    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .linger(Duration::from_millis(1))
        .connect()
        .await
        .unwrap();
    let mut pending = Vec::new();
    for i in 0..records {
        let record = ProducerRecord::new("s1000")
            .partition((i % 10) as i32 * 100)
            .value(vec![b'x'; 100]);
        pending.push(producer.send(record).await.unwrap());
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    for f in pending {
        f.await.unwrap();
    }
    producer.close().await;
    let mut got = 0;
    while got < records {
        got += c.poll(records - got).await.unwrap().len();
    }
    let m = c.metrics();
    c.close().await;
    let full = m.full_fetch_bytes as f64 / m.full_fetches.max(1) as f64;
    let incremental = m.incremental_fetch_bytes as f64 / m.incremental_fetches.max(1) as f64;
    (full, incremental, m.incremental_fetches)
}

/// Resolves the earliest offset of 50 partitions on 3 brokers; (ListOffsets requests, time).
async fn lookups(bootstrap: &str) -> (u64, Duration) {
    let mut c = consumer(bootstrap).connect().await.unwrap();
    let tps = partitions("o50", 50);
    let started = Instant::now();
    c.assign(tps.clone()).unwrap();
    while !tps.iter().all(|tp| c.position(tp).unwrap().is_some()) {
        // Positions are set by the fetcher; poll to wait on it without spinning.
        let _ = tokio::time::timeout(Duration::from_millis(1), c.poll(1)).await;
    }
    let elapsed = started.elapsed();
    let requests = c.metrics().offset_requests;
    c.close().await;
    (requests, elapsed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let scale = if !has("--bench") {
        0.01
    } else if has("--quick") {
        0.2
    } else {
        1.0
    };
    if std::env::var_os(ROLE).is_some() {
        broker(scale);
        return;
    }
    let broker = BrokerProcess::spawn(ROLE, &args[1..]).unwrap();
    let bootstrap = broker.bootstrap.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| workload | records/s | MB/s | client CPU-s per 1M records |");
    println!("|---|---|---|---|");
    for w in &workloads(scale) {
        let (rate, mb, cpu) = runtime.block_on(consume(&bootstrap, w));
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
    let (full, incremental, count) = runtime.block_on(sessions(
        &bootstrap,
        ((10_000.0 * scale) as usize).max(1000),
    ));
    println!(
        "fetch sessions, 1,000 partitions (10 written to): full fetch {full:.0} B, \
         incremental {incremental:.0} B (mean of {count}), {:.0}x smaller",
        full / incremental
    );
    let (requests, elapsed) = runtime.block_on(lookups(&bootstrap));
    println!(
        "offset lookups, 50 partitions on 3 brokers: {requests} ListOffsets requests, {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    broker.stop();
}
