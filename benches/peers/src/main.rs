//! `krafka-peers`: one client run per process, so each client's CPU time and peak RSS are its
//! own. `cargo xtask bench peers` starts the broker, runs this binary once per client, workload
//! and round, and prints the table; run by hand it is:
//!
//! ```text
//! krafka-peers produce CLIENT BOOTSTRAP TOPIC RECORDS SIZE
//! ```
//!
//! CLIENT is `krafka`, `rdkafka` (`BaseProducer`), `rdkafka-threaded` (`ThreadedProducer`) or
//! `krafka-0.28`. Every client gets the same settings (the Java defaults: acks=all,
//! idempotence, linger 5 ms, batch 16 KiB, no compression) and the same keyed records (1,000
//! distinct keys, murmur2 partitioning), and every record's delivery is awaited and checked. A warm-up record (producer id, metadata, connections) is sent before
//! the clock starts. The last line printed is the result:
//!
//! ```text
//! result records=N seconds=S cpu_seconds=C max_rss_kib=R
//! ```

mod produce_krafka;
mod produce_krafka_0_28;
mod produce_rdkafka;

use std::process::ExitCode;
use std::time::Instant;

/// One produce run: what every client is asked to do.
pub struct ProduceRun {
    pub bootstrap: String,
    pub topic: String,
    pub records: usize,
    pub size: usize,
}

impl ProduceRun {
    /// The key of record `i`: 1,000 distinct keys, so 8 partitions all get traffic.
    pub fn key(i: usize) -> String {
        format!("key-{}", i % 1000)
    }

    pub fn value(&self) -> Vec<u8> {
        vec![b'x'; self.size]
    }
}

/// Marks the end of the warm-up: the clock and the CPU counters start here.
pub struct Timed {
    started: Instant,
    cpu: f64,
}

impl Timed {
    pub fn start() -> Self {
        Timed {
            started: Instant::now(),
            cpu: usage().0,
        }
    }
}

/// (user + system CPU seconds, peak RSS in KiB) of this process.
fn usage() -> (f64, i64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
        usage.ru_maxrss,
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = match args.as_slice() {
        [mode, client, bootstrap, topic, records, size] if mode == "produce" => {
            let (Ok(records), Ok(size)) = (records.parse(), size.parse()) else {
                eprintln!("krafka-peers: RECORDS and SIZE must be numbers");
                return ExitCode::from(2);
            };
            let run = ProduceRun {
                bootstrap: bootstrap.clone(),
                topic: topic.clone(),
                records,
                size,
            };
            match client.as_str() {
                "krafka" => produce_krafka::run(&run),
                "rdkafka" => produce_rdkafka::run_base_producer(&run),
                "rdkafka-threaded" => produce_rdkafka::run_threaded_producer(&run),
                "krafka-0.28" => produce_krafka_0_28::run(&run),
                other => Err(format!("unknown client '{other}'")),
            }
        }
        _ => Err("usage: krafka-peers produce CLIENT BOOTSTRAP TOPIC RECORDS SIZE".to_owned()),
    };
    match run {
        Ok((timed, delivered)) => {
            let seconds = timed.started.elapsed().as_secs_f64();
            let (cpu, max_rss) = usage();
            println!(
                "result records={delivered} seconds={seconds:.4} cpu_seconds={:.4} max_rss_kib={max_rss}",
                cpu - timed.cpu
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("krafka-peers: {e}");
            ExitCode::FAILURE
        }
    }
}
