//! `krafka-peers`: one client run per process, so each client's CPU time and peak RSS are its
//! own. `cargo xtask bench peers` starts the broker, runs this binary once per client, workload
//! and round, and prints the table; run by hand it is:
//!
//! ```text
//! krafka-peers [--tls-ca CA.pem] produce CLIENT BOOTSTRAP TOPIC RECORDS SIZE
//! krafka-peers [--tls-ca CA.pem] consume CLIENT BOOTSTRAP TOPIC RECORDS SIZE PARTITIONS FETCH_WAIT_MS
//! krafka-peers [--tls-ca CA.pem] create-topic BOOTSTRAP TOPIC PARTITIONS
//! ```
//!
//! With `--tls-ca`, every client connects with `security.protocol=SSL`, trusting that CA and
//! verifying the broker's hostname (each client's default), and nothing else changes.
//!
//! For `consume`, CLIENT is `krafka`, `rdkafka` (`BaseConsumer`) or `krafka-0.28`; each assigns
//! every partition from the beginning, reads RECORDS records (already in the topic) and every
//! value's bytes, and fails on a short or long count. The clock starts after connecting,
//! before the assignment. For `produce`, CLIENT is `krafka`, `rdkafka` (`BaseProducer`), `rdkafka-threaded` (`ThreadedProducer`) or
//! `krafka-0.28`. Every client gets the same settings (the Java defaults: acks=all,
//! idempotence, linger 5 ms, batch 16 KiB, no compression) and the same keyed records (1,000
//! distinct keys, murmur2 partitioning), and every record's delivery is awaited and checked. A warm-up record (producer id, metadata, connections) is sent before
//! the clock starts. The last line printed is the result:
//!
//! ```text
//! result records=N seconds=S cpu_seconds=C max_rss_kib=R
//! ```

mod consume_krafka;
mod consume_krafka_0_28;
mod consume_rdkafka;
mod produce_krafka;
mod produce_krafka_0_28;
mod produce_rdkafka;

use std::process::ExitCode;
use std::time::Instant;

/// One produce run: what every client is asked to do.
pub struct ProduceRun {
    pub bootstrap: String,
    /// The CA to trust over TLS; plaintext when `None`.
    pub tls_ca: Option<String>,
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

/// One consume run: read the `records` records of `size` bytes a topic holds.
pub struct ConsumeRun {
    pub bootstrap: String,
    /// The CA to trust over TLS; plaintext when `None`.
    pub tls_ca: Option<String>,
    pub topic: String,
    pub records: usize,
    pub size: usize,
    pub partitions: i32,
    pub fetch_wait_ms: u64,
}

impl ConsumeRun {
    /// Every record once: the count and the value bytes add up.
    pub fn check_bytes(&self, received: usize, bytes: usize) -> Result<(), String> {
        if received != self.records || bytes != self.records * self.size {
            return Err(format!(
                "read {received} records ({bytes} B), expected {} ({} B)",
                self.records,
                self.records * self.size
            ));
        }
        Ok(())
    }
}

/// Marks the end of the warm-up: the clock and the CPU counters start here. A consumer stops
/// them at its last record ([`Timed::stop`]), so its close (which may wait out a long-poll
/// fetch still in flight) is not counted; a producer's run ends when every delivery is in.
pub struct Timed {
    started: Instant,
    cpu: f64,
    stopped: Option<(f64, f64)>,
}

impl Timed {
    pub fn start() -> Self {
        Timed {
            started: Instant::now(),
            cpu: usage().0,
            stopped: None,
        }
    }

    /// Stops the clock and the CPU count here.
    pub fn stop(&mut self) {
        self.stopped = Some((self.started.elapsed().as_secs_f64(), usage().0));
    }

    /// (seconds, CPU seconds) from the start to the stop, or to now.
    fn measured(&self) -> (f64, f64) {
        let (seconds, cpu) = self
            .stopped
            .unwrap_or_else(|| (self.started.elapsed().as_secs_f64(), usage().0));
        (seconds, cpu - self.cpu)
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
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let tls_ca = match args.first().map(String::as_str) {
        Some("--tls-ca") if args.len() > 1 => {
            let ca = args.remove(1);
            args.remove(0);
            Some(ca)
        }
        _ => None,
    };
    let run = match args.as_slice() {
        [mode, client, bootstrap, topic, records, size] if mode == "produce" => {
            let (Ok(records), Ok(size)) = (records.parse(), size.parse()) else {
                eprintln!("krafka-peers: RECORDS and SIZE must be numbers");
                return ExitCode::from(2);
            };
            let run = ProduceRun {
                bootstrap: bootstrap.clone(),
                tls_ca: tls_ca.clone(),
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
        [mode, client, bootstrap, topic, records, size, partitions, wait]
            if mode == "consume" =>
        {
            let (Ok(records), Ok(size), Ok(partitions), Ok(fetch_wait_ms)) =
                (records.parse(), size.parse(), partitions.parse(), wait.parse())
            else {
                eprintln!("krafka-peers: RECORDS, SIZE, PARTITIONS and FETCH_WAIT_MS are numbers");
                return ExitCode::from(2);
            };
            let run = ConsumeRun {
                bootstrap: bootstrap.clone(),
                tls_ca: tls_ca.clone(),
                topic: topic.clone(),
                records,
                size,
                partitions,
                fetch_wait_ms,
            };
            match client.as_str() {
                "krafka" => consume_krafka::run(&run),
                "rdkafka" => consume_rdkafka::run(&run),
                "krafka-0.28" => consume_krafka_0_28::run(&run),
                other => Err(format!("unknown consumer client '{other}'")),
            }
        }
        [mode, bootstrap, topic, partitions] if mode == "create-topic" => {
            return match create_topic(bootstrap, tls_ca.as_deref(), topic, partitions) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("krafka-peers: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => Err("usage: krafka-peers [--tls-ca CA.pem] produce CLIENT BOOTSTRAP TOPIC RECORDS SIZE | consume CLIENT BOOTSTRAP TOPIC RECORDS SIZE PARTITIONS FETCH_WAIT_MS | create-topic BOOTSTRAP TOPIC PARTITIONS".to_owned()),
    };
    match run {
        Ok((timed, delivered)) => {
            let (seconds, cpu) = timed.measured();
            let max_rss = usage().1;
            println!(
                "result records={delivered} seconds={seconds:.4} cpu_seconds={cpu:.4} max_rss_kib={max_rss}"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("krafka-peers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Creates a topic (for brokers without auto-creation, such as tansu).
fn create_topic(
    bootstrap: &str,
    tls_ca: Option<&str>,
    topic: &str,
    partitions: &str,
) -> Result<(), String> {
    use krafka_protocol::messages::CreateTopicsRequest;
    use krafka_protocol::messages::create_topics_request::CreatableTopic;
    use krafka_protocol::{ErrorCode, StrBytes};

    let partitions: i32 = partitions
        .parse()
        .map_err(|_| "PARTITIONS must be a number".to_owned())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut config = krafka_net::ConnectionConfig::builder();
        if let Some(security) = krafka_security(tls_ca) {
            config = config.security(security);
        }
        let config = config.build().map_err(|e| e.to_string())?;
        let pool = krafka_net::ConnectionPool::new(config);
        let first = bootstrap.split(',').next().unwrap_or(bootstrap);
        let conn = pool
            .get_connection(first)
            .await
            .map_err(|e| e.to_string())?;
        let created = conn
            .send_negotiated(&CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: StrBytes::from_string(topic.to_owned()),
                    num_partitions: partitions,
                    replication_factor: 1,
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let code = created
            .topics
            .first()
            .map_or(ErrorCode::UNKNOWN_SERVER_ERROR, |t| ErrorCode(t.error_code));
        pool.close().await;
        if code.is_ok() || code == ErrorCode::TOPIC_ALREADY_EXISTS {
            Ok(())
        } else {
            Err(format!("creating {topic}: {code}"))
        }
    })
}

/// Krafka's security for a run: SSL trusting `tls_ca`, or `None` for plaintext.
pub fn krafka_security(tls_ca: Option<&str>) -> Option<krafka_net::SecurityConfig> {
    tls_ca.map(|ca| {
        krafka_net::SecurityConfig::ssl(
            krafka_net::TlsConfig::default().with_ca(krafka_net::PemSource::file(ca)),
        )
    })
}

/// krafka 0.28.1's security for a run: SSL trusting `tls_ca`, or plaintext.
pub fn krafka_0_28_security(tls_ca: Option<&str>) -> krafka_0_28::auth::AuthConfig {
    use krafka_0_28::auth::{AuthConfig, TlsConfig};
    match tls_ca {
        Some(ca) => AuthConfig::ssl(TlsConfig::new().with_ca_cert(ca)),
        None => AuthConfig::plaintext(),
    }
}
