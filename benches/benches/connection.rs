//! krafka-net under load, against the mock broker in the same process:
//!
//! 1. Heartbeat round trips while one data connection is saturated by 1 MiB fetches, in three
//!    setups: heartbeats in the same lane as the fetches (one FIFO lane), in the high-priority
//!    lane of the same connection, and on the separate coordination connection; plus the idle
//!    baseline.
//! 2. Small pipelined requests per second on one connection, with the write and read system
//!    calls each request cost (write coalescing at work).
//!
//! Run: `cargo bench -p krafka-benches --bench connection` (add `-- --quick` for a short
//! run). Prints a Markdown table; the numbers are in `docs/performance.md`. Percentiles are
//! exact (every round trip is kept), not bucketed.

#![allow(missing_docs)]
// A benchmark is a harness like a test: a failed step should stop it loudly, and its report is
// its output.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use krafka_benches::{batch_16k, fetch_request, produce_request};
use krafka_mock::MockCluster;
use krafka_net::{BrokerConnection, ConnectionConfig, ConnectionPool, RequestPriority};
use krafka_protocol::messages::{self as m};
use krafka_protocol::{ApiKey, Encode, StrBytes};

/// Concurrent fetch loops saturating the data connection (more than `max_in_flight`, so the
/// normal lane always has a queue).
const FETCH_LOOPS: usize = 8;

struct Options {
    /// Worker threads of each runtime (the broker's and the client's).
    threads: usize,
    heartbeats: usize,
    /// Heartbeats per setup under long polls, where each can take half a second.
    long_poll_heartbeats: usize,
    pipelined_for: Duration,
}

/// Full counts under `cargo bench`; fewer with `-- --quick`; a smoke run (a few of each, to
/// prove it works) under `cargo test --all-targets`, which runs this binary without `--bench`.
fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let threads = std::env::var("KRAFKA_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let (heartbeats, long_poll_heartbeats, pipelined_ms) = if !has("--bench") {
        (5, 2, 200)
    } else if has("--quick") {
        (100, 10, 1000)
    } else {
        (400, 40, 3000)
    };
    Options {
        threads,
        heartbeats,
        long_poll_heartbeats,
        pipelined_for: Duration::from_millis(pipelined_ms),
    }
}

fn main() {
    let options = options();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads)
            .enable_all()
            .build()
            .unwrap()
    };
    // The broker gets its own runtime (its own threads), as a broker process would; the
    // client's tasks then compete with it only for the CPUs, not for one scheduler's queues.
    let broker = runtime();
    let cluster = broker
        .block_on(
            MockCluster::builder()
                .topic("bench", 1)
                .topic("empty", 1)
                .start(),
        )
        .unwrap();
    let addr = cluster.broker_addrs()[0].to_string();
    runtime().block_on(run(options, addr));
    broker.block_on(cluster.shutdown());
}

async fn run(options: Options, addr: String) {
    let pool = ConnectionPool::new(ConnectionConfig::default());
    let data = pool.get_connection(&addr).await.unwrap();
    let coordination = pool.get_coordination_connection(&addr).await.unwrap();
    preload(&data).await;

    println!("| heartbeat setup | load | p50 | p99 | max | fetched during |");
    println!("|---|---|---|---|---|---|");
    let idle = heartbeats(&coordination, RequestPriority::High, options.heartbeats).await;
    report("coordination connection", "idle", &idle, None);
    let setups = [
        (
            "one FIFO lane (heartbeat behind fetches)",
            &data,
            RequestPriority::Normal,
        ),
        (
            "priority lanes (same connection)",
            &data,
            RequestPriority::High,
        ),
        (
            "coordination connection",
            &coordination,
            RequestPriority::High,
        ),
    ];
    let loads = [
        (
            "8 × 1 MiB fetches",
            fetch_request("bench", 0),
            options.heartbeats,
        ),
        (
            "8 long-poll fetches (max_wait 100 ms)",
            fetch_request("empty", 100),
            options.long_poll_heartbeats,
        ),
    ];
    for (load_name, request, count) in loads {
        for (name, conn, priority) in &setups {
            let load = FetchLoad::start(&data, &request);
            tokio::time::sleep(Duration::from_millis(200)).await;
            let started = Instant::now();
            let rtts = heartbeats(conn, *priority, count).await;
            let rate = load.stop().await as f64 / started.elapsed().as_secs_f64();
            report(name, load_name, &rtts, Some(rate));
        }
    }

    println!();
    println!("| pipelined small requests | requests/s | writes per request | reads per response |");
    println!("|---|---|---|---|");
    for max_in_flight in [5, 64] {
        let config = Arc::new(
            ConnectionConfig::builder()
                .max_in_flight_requests(max_in_flight)
                .build()
                .unwrap(),
        );
        let conn = BrokerConnection::connect(&addr, config).await.unwrap();
        let rate = pipelined(&conn, 64, options.pipelined_for).await;
        let s = conn.stats();
        println!(
            "| 64 tasks, max_in_flight {max_in_flight} | {:.0} | {:.3} | {:.3} |",
            rate,
            s.write_calls() as f64 / s.requests_sent() as f64,
            s.read_calls() as f64 / s.responses() as f64,
        );
        conn.close().await;
    }
    pool.close().await;
}

/// Fills the partition with 8 MiB of 100-byte records in 16 KiB batches.
async fn preload(conn: &BrokerConnection) {
    let (records, _) = batch_16k().unwrap();
    let produce = produce_request("bench", records);
    for _ in 0..512 {
        let response = conn.send(&produce, 9).await.unwrap();
        assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    }
}

/// Fetch loops keeping a connection busy until stopped.
struct FetchLoad {
    stop: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FetchLoad {
    fn start(conn: &BrokerConnection, request: &m::FetchRequest) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let tasks = (0..FETCH_LOOPS)
            .map(|_| {
                let (conn, stop, bytes) = (conn.clone(), stop.clone(), bytes.clone());
                let request = request.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let response = conn
                            .send_request(ApiKey::FETCH, 12, |b| request.encode(b, 12))
                            .await
                            .unwrap();
                        bytes.fetch_add(response.frame().len() as u64, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self { stop, bytes, tasks }
    }

    /// Stops the loops; returns the bytes fetched.
    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.bytes.load(Ordering::Relaxed)
    }
}

/// `count` heartbeats 5 ms apart; returns each round trip.
async fn heartbeats(
    conn: &BrokerConnection,
    priority: RequestPriority,
    count: usize,
) -> Vec<Duration> {
    let version = conn.api_version(ApiKey::HEARTBEAT).unwrap();
    let request = m::HeartbeatRequest {
        group_id: StrBytes::from_static_str("bench-group"),
        generation_id: 1,
        member_id: StrBytes::from_static_str("bench-member"),
        ..Default::default()
    };
    let mut rtts = Vec::with_capacity(count);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    for _ in 0..count {
        tick.tick().await;
        let started = Instant::now();
        conn.send_request_with_priority(ApiKey::HEARTBEAT, version, priority, |b| {
            request.encode(b, version)
        })
        .await
        .unwrap();
        rtts.push(started.elapsed());
    }
    rtts
}

/// `tasks` tasks sending small Metadata requests (no topics) back to back for `period`;
/// returns requests per second.
async fn pipelined(conn: &BrokerConnection, tasks: usize, period: Duration) -> f64 {
    let version = conn.api_version(ApiKey::METADATA).unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + period;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (conn, done) = (conn.clone(), done.clone());
            tokio::spawn(async move {
                let request = m::MetadataRequest {
                    topics: Some(Vec::new()),
                    ..Default::default()
                };
                while Instant::now() < deadline {
                    conn.send(&request, version).await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn report(name: &str, load: &str, rtts: &[Duration], fetch_rate: Option<f64>) {
    let mut sorted = rtts.to_vec();
    sorted.sort();
    let at =
        |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let fetched = fetch_rate.map_or("–".to_owned(), |r| {
        format!("{:.0} MiB/s", r / (1 << 20) as f64)
    });
    println!(
        "| {name} | {load} | {:.2} ms | {:.2} ms | {:.2} ms | {fetched} |",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        sorted.last().unwrap().as_secs_f64() * 1e3,
    );
}
