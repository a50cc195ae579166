//! `krafka perf`: produce N records of a given size and consume them back at the same time,
//! reporting each side's throughput and the end-to-end latency (send to receive) percentiles
//! from an HDR histogram.
//!
//! Every record's value starts with the nanoseconds since the run began, written just before
//! `send`; the consumer, in the same process and so on the same clock, subtracts it from the
//! time its poll returned. Without `--bootstrap` the cluster is krafka-mock in this process:
//! quick to try, but it shares the CPU with the client, which the report says.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use krafka::Profile;
use krafka::prelude::*;

use crate::client::ClientOpts;
use crate::output::say;
use crate::plot;
use crate::progress::{Display, Progress};

/// At most this many deliveries are awaited at once; the oldest is awaited when it is full.
const WINDOW: usize = 100_000;
/// The timestamp at the start of every value.
const STAMP: usize = 8;

/// What `krafka perf` measures.
#[derive(Args)]
pub struct PerfArgs {
    /// How many records to produce and consume.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Each record's value size in bytes (at least 8: the send timestamp).
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// The topic (created if missing); by default a new one for this run.
    #[arg(long)]
    topic: Option<String>,
    /// Brokers of the embedded cluster (without --bootstrap).
    #[arg(long, default_value_t = 3)]
    brokers: i32,
    /// The embedded cluster's security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
    /// with a run-time test CA and a SASL user for the client. Against a real cluster, give
    /// the client's security with --config or -X instead.
    #[arg(long, default_value = "PLAINTEXT")]
    security_protocol: String,
    /// The SASL mechanism for the embedded cluster with a SASL protocol.
    #[arg(long, default_value = "SCRAM-SHA-512")]
    sasl_mechanism: String,
    /// The tuning profile the settings start from: balanced, throughput, latency, durability
    /// or availability (see docs/performance.md). The flags below override it.
    #[arg(long, default_value_t = Profile::Balanced)]
    profile: Profile,
    /// Which acknowledgement the producer waits for (Java's `acks`).
    #[arg(long, value_enum)]
    acks: Option<AcksArg>,
    /// How long the producer waits to fill a batch, in ms (Java's `linger.ms`).
    #[arg(long)]
    linger_ms: Option<u64>,
    /// The producer's batch size in bytes, with an optional k or m suffix (Java's `batch.size`).
    #[arg(long, value_parser = parse_size)]
    batch_size: Option<usize>,
    /// The producer's compression codec.
    #[arg(long, value_enum)]
    compression: Option<CodecArg>,
    /// How long a fetch may wait for data, in ms (Java's `fetch.max.wait.ms`).
    #[arg(long)]
    fetch_wait_ms: Option<u64>,
    /// Sends at most this many records per second (default: as fast as the producer takes
    /// them). Latency is only comparable below saturation: at full speed it mostly measures
    /// the queue.
    #[arg(long)]
    rate: Option<u64>,
    /// Runs every combination of these settings and prints a table, e.g.
    /// `--sweep linger=0,5,50 batch=16k,64k,1m`. Keys: linger, batch, fetch-wait, compression,
    /// acks.
    #[arg(long, num_args = 1.., value_name = "KEY=V1,V2,...")]
    sweep: Vec<String>,
    /// Writes an SVG chart: latency over the run, or for a sweep the throughput-versus-p99
    /// latency curve.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<std::path::PathBuf>,
}

/// `16k`, `1m`, `4096`.
fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.to_ascii_lowercase();
    let (digits, unit) = match lower.strip_suffix('k') {
        Some(d) => (d, 1024),
        None => match lower.strip_suffix('m') {
            Some(d) => (d, 1024 * 1024),
            None => (lower.as_str(), 1),
        },
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{text}' is not a size (like 16384, 16k or 1m)"))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AcksArg {
    /// acks=all: every in-sync replica.
    All,
    /// acks=1: the leader.
    Leader,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CodecArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CodecArg {
    fn compression(self) -> Compression {
        match self {
            CodecArg::None => Compression::None,
            CodecArg::Gzip => Compression::Gzip,
            CodecArg::Snappy => Compression::Snappy,
            CodecArg::Lz4 => Compression::Lz4,
            CodecArg::Zstd => Compression::Zstd,
        }
    }
}

/// The settings of one measurement: a profile, then explicit overrides.
#[derive(Clone, Debug)]
struct Settings {
    profile: Profile,
    acks: Option<AcksArg>,
    linger: Option<Duration>,
    batch_size: Option<usize>,
    compression: Option<CodecArg>,
    fetch_wait: Option<Duration>,
}

impl Settings {
    fn from_args(args: &PerfArgs) -> Self {
        Settings {
            profile: args.profile,
            acks: args.acks,
            linger: args.linger_ms.map(Duration::from_millis),
            batch_size: args.batch_size,
            compression: args.compression,
            fetch_wait: args.fetch_wait_ms.map(Duration::from_millis),
        }
    }

    fn producer(&self, client: &ClientOpts) -> Result<ProducerBuilder, String> {
        let base = client
            .cluster_properties()?
            .producer()
            .map_err(|e| e.to_string())?;
        Ok(self.tune_producer(base))
    }

    fn tune_producer(&self, base: ProducerBuilder) -> ProducerBuilder {
        let mut b = self.profile.producer(base);
        if let Some(acks) = self.acks {
            b = match acks {
                AcksArg::All => b.acks(Acks::All),
                // acks=1 cannot be idempotent.
                AcksArg::Leader => b.acks(Acks::Leader).idempotence(false),
            };
        }
        if let Some(linger) = self.linger {
            b = b.linger(linger);
        }
        if let Some(size) = self.batch_size {
            b = b.batch_size(size);
        }
        if let Some(codec) = self.compression {
            b = b.compression(codec.compression());
        }
        b
    }

    fn consumer(&self, client: &ClientOpts) -> Result<ConsumerBuilder, String> {
        let base = client
            .cluster_properties()?
            .consumer()
            .map_err(|e| e.to_string())?;
        Ok(self.tune_consumer(base))
    }

    fn tune_consumer(&self, base: ConsumerBuilder) -> ConsumerBuilder {
        let mut b = self
            .profile
            .consumer(base.auto_offset_reset(OffsetReset::Earliest));
        if let Some(wait) = self.fetch_wait {
            b = b.fetch_max_wait(wait);
        }
        b
    }

    /// The effective settings, as the builders hold them.
    fn describe(&self) -> String {
        let p = self.tune_producer(ProducerBuilder::new());
        let c = self.tune_consumer(ConsumerBuilder::new());
        let (p, c) = (p.config(), c.config());
        format!(
            "profile {}: acks={}, idempotence {}, linger {} ms, batch {}, compression {}, \
             fetch wait {} ms, fetch min {} B",
            self.profile,
            match p.acks {
                Acks::All => "all",
                Acks::Leader => "1",
                Acks::None => "0",
            },
            p.idempotence,
            p.linger.as_millis(),
            size(p.batch_size),
            p.compression,
            c.fetch_max_wait.as_millis(),
            c.fetch_min_bytes
        )
    }

    /// The short label of a sweep point: the swept keys' values.
    fn label(&self, keys: &[String]) -> String {
        let p = self.tune_producer(ProducerBuilder::new());
        let c = self.tune_consumer(ConsumerBuilder::new());
        keys.iter()
            .map(|k| match k.as_str() {
                "linger" => format!("linger={}", p.config().linger.as_millis()),
                "batch" => format!("batch={}", size(p.config().batch_size)),
                "fetch-wait" => format!("fetch-wait={}", c.config().fetch_max_wait.as_millis()),
                "compression" => format!("compression={}", p.config().compression),
                "acks" => format!("acks={:?}", p.config().acks),
                other => other.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{}m", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}k", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// Every combination of the `--sweep` values, over `base`; also the swept keys.
fn sweep_points(base: &Settings, specs: &[String]) -> Result<(Vec<Settings>, Vec<String>), String> {
    let mut points = vec![base.clone()];
    let mut keys = Vec::new();
    for spec in specs {
        let (key, values) = spec
            .split_once('=')
            .ok_or_else(|| format!("--sweep {spec}: expected KEY=V1,V2,..."))?;
        keys.push(key.to_owned());
        let mut next = Vec::new();
        for point in &points {
            for value in values.split(',').filter(|v| !v.is_empty()) {
                let mut p = point.clone();
                let bad = || format!("--sweep {key}: '{value}' is not a valid value");
                match key {
                    "linger" => {
                        p.linger = Some(Duration::from_millis(value.parse().map_err(|_| bad())?))
                    }
                    "batch" => p.batch_size = Some(parse_size(value)?),
                    "fetch-wait" => {
                        p.fetch_wait =
                            Some(Duration::from_millis(value.parse().map_err(|_| bad())?))
                    }
                    "compression" => {
                        p.compression = Some(CodecArg::from_str(value, true).map_err(|_| bad())?)
                    }
                    "acks" => {
                        p.acks = Some(match value {
                            "all" | "-1" => AcksArg::All,
                            "1" | "leader" => AcksArg::Leader,
                            _ => return Err(bad()),
                        })
                    }
                    other => {
                        return Err(format!(
                            "--sweep: unknown key '{other}' (known: linger, batch, fetch-wait, \
                             compression, acks)"
                        ));
                    }
                }
                next.push(p);
            }
        }
        if next.is_empty() {
            return Err(format!("--sweep {spec}: no values"));
        }
        points = next;
    }
    Ok((points, keys))
}

/// What the consumer side saw.
struct Consumed {
    records: usize,
    bytes: usize,
    last: Duration,
    latency: Histogram<u64>,
    /// (seconds into the run, the largest latency in ms of one poll's records).
    timeline: Vec<(f64, f64)>,
}

/// One measurement's results.
struct Outcome {
    produce_rate: f64,
    produce_seconds: f64,
    consume_rate: f64,
    consume_seconds: f64,
    consume_mb: f64,
    latency: Histogram<u64>,
    timeline: Vec<(f64, f64)>,
}

impl Outcome {
    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1e6
    }
}

pub async fn run(args: PerfArgs, client: &ClientOpts) -> Result<(), String> {
    if args.size < STAMP {
        return Err(format!(
            "--size must be at least {STAMP} (the send timestamp)"
        ));
    }
    if args.records == 0 || args.partitions <= 0 {
        return Err("--records and --partitions must be positive".into());
    }
    let base = Settings::from_args(&args);
    let (points, keys) = sweep_points(&base, &args.sweep)?;
    let topic = args.topic.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("krafka-perf-{}-{secs}", std::process::id())
    });
    let (client, cluster) = match client.has_bootstrap()? {
        true => {
            let props = client.properties()?;
            say(&format!(
                "cluster: {}",
                props.get("bootstrap.servers").unwrap_or_default()
            ));
            (client.clone(), None)
        }
        false => {
            let (builder, security) = embedded_security(&args)?;
            let cluster = builder
                .brokers(args.brokers)
                .start()
                .await
                .map_err(|e| format!("cannot start the embedded cluster: {e}"))?;
            say(&format!(
                "cluster: embedded krafka-mock, {} broker(s) in this process, {} (it shares the \
                 CPU with the client; give --bootstrap to measure a real cluster)",
                args.brokers, args.security_protocol
            ));
            let mut embedded = ClientOpts {
                bootstrap: Some(cluster.bootstrap()),
                ..client.clone()
            };
            embedded.properties.extend(security);
            (embedded, Some(cluster))
        }
    };
    say(&format!(
        "{} records of {} B to {} partition(s){}",
        thousands(args.records as u64),
        args.size,
        args.partitions,
        args.rate
            .map(|r| format!(", at most {} records/s", thousands(r)))
            .unwrap_or_default()
    ));
    let result = if args.sweep.is_empty() {
        single(&args, &base, &client, &topic).await
    } else {
        sweep(&args, &points, &keys, &client, &topic).await
    };
    if let Some(cluster) = cluster {
        cluster.shutdown().await;
    }
    result
}

async fn single(
    args: &PerfArgs,
    settings: &Settings,
    client: &ClientOpts,
    topic: &str,
) -> Result<(), String> {
    say(&settings.describe());
    let outcome = measure(args, settings, client, topic).await?;
    say(&format!(
        "produce: {} records in {:.2} s: {} records/s, {:.1} MB/s",
        thousands(args.records as u64),
        outcome.produce_seconds,
        rate(outcome.produce_rate),
        outcome.produce_rate * args.size as f64 / 1e6
    ));
    say(&format!(
        "consume: {} records in {:.2} s: {} records/s, {:.1} MB/s",
        thousands(args.records as u64),
        outcome.consume_seconds,
        rate(outcome.consume_rate),
        outcome.consume_mb
    ));
    say(&format!(
        "end-to-end latency: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        outcome.ms(0.5),
        outcome.ms(0.99),
        outcome.ms(0.999),
        outcome.latency.max() as f64 / 1e6
    ));
    if let Some(path) = &args.plot {
        let points = thin(&outcome.timeline, 2000);
        plot::write(
            path,
            &plot::Chart {
                title: &format!(
                    "krafka perf: end-to-end latency over the run ({})",
                    settings.profile
                ),
                x_label: "seconds into the run",
                y_label: "latency of the slowest record of each poll (ms)",
                points: &points,
                labels: &[],
                joined: false,
            },
        )?;
        say(&format!("wrote {}", path.display()));
    }
    Ok(())
}

async fn sweep(
    args: &PerfArgs,
    points: &[Settings],
    keys: &[String],
    client: &ClientOpts,
    topic: &str,
) -> Result<(), String> {
    say(&format!(
        "sweep: {} runs, from {}",
        points.len(),
        points.first().map(Settings::describe).unwrap_or_default()
    ));
    let mut rows = Vec::with_capacity(points.len());
    for (i, settings) in points.iter().enumerate() {
        let label = settings.label(keys);
        let outcome = measure(args, settings, client, &format!("{topic}-{i}")).await?;
        say(&format!(
            "  {label}: produce {} records/s, consume {} records/s, p99 {:.2} ms",
            rate(outcome.produce_rate),
            rate(outcome.consume_rate),
            outcome.ms(0.99)
        ));
        rows.push((label, outcome));
    }
    say("");
    say(
        "| settings | produce records/s | consume records/s | p50 ms | p99 ms | p99.9 ms | max ms |",
    );
    say("|---|---|---|---|---|---|---|");
    for (label, o) in &rows {
        say(&format!(
            "| {label} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            rate(o.produce_rate),
            rate(o.consume_rate),
            o.ms(0.5),
            o.ms(0.99),
            o.ms(0.999),
            o.latency.max() as f64 / 1e6
        ));
    }
    if let Some(path) = &args.plot {
        let mut curve: Vec<(f64, f64, String)> = rows
            .iter()
            .map(|(label, o)| {
                (
                    o.produce_rate.min(o.consume_rate),
                    o.ms(0.99),
                    label.clone(),
                )
            })
            .collect();
        curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        let points: Vec<(f64, f64)> = curve.iter().map(|(x, y, _)| (*x, *y)).collect();
        let labels: Vec<String> = curve.into_iter().map(|(_, _, l)| l).collect();
        plot::write(
            path,
            &plot::Chart {
                title: "krafka perf: throughput against p99 end-to-end latency",
                x_label: "records/s (the slower of produce and consume)",
                y_label: "p99 end-to-end latency (ms)",
                points: &points,
                labels: &labels,
                joined: true,
            },
        )?;
        say(&format!("wrote {}", path.display()));
    }
    Ok(())
}

/// At most `max` points: the largest latency of each equal slice of the run.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points.to_vec();
    }
    points
        .chunks(points.len().div_ceil(max))
        .filter_map(|chunk| {
            let worst = chunk.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
            Some((chunk[0].0, worst.1))
        })
        .collect()
}

/// The embedded cluster's builder secured as `--security-protocol` asks, and the client
/// properties that match it (a fresh test CA, the user `perf`).
fn embedded_security(
    args: &PerfArgs,
) -> Result<(krafka_mock::MockClusterBuilder, Vec<String>), String> {
    let protocol: krafka::SecurityProtocol = args.security_protocol.parse().map_err(
        |e: krafka::security::UnknownSecurityProtocol| format!("--security-protocol: {e}"),
    )?;
    let mut builder = krafka_mock::MockCluster::builder();
    let mut props = vec![format!("security.protocol={protocol}")];
    if protocol.uses_tls() {
        let pki = krafka_mock::TestPki::generate().map_err(|e| e.to_string())?;
        props.push(format!("ssl.ca.pem={}", pki.ca_pem));
        builder = builder.tls(krafka_mock::MockTls::new(pki));
    }
    if protocol.uses_sasl() {
        let mechanism = krafka_mock::SaslMechanismName::parse(&args.sasl_mechanism)
            .filter(|m| *m != krafka_mock::SaslMechanismName::OAuthBearer)
            .ok_or_else(|| {
                format!(
                    "--sasl-mechanism {}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                    args.sasl_mechanism
                )
            })?;
        builder = builder.sasl(krafka_mock::MockSasl::new([mechanism]).user("perf", "perf-secret"));
        props.extend([
            format!("sasl.mechanism={}", mechanism.name()),
            "sasl.username=perf".to_owned(),
            "sasl.password=perf-secret".to_owned(),
        ]);
    }
    Ok((builder, props))
}

/// One produce-and-consume run on a new topic.
async fn measure(
    args: &PerfArgs,
    settings: &Settings,
    client: &ClientOpts,
    topic: &str,
) -> Result<Outcome, String> {
    crate::topics::ensure(
        client,
        topic,
        args.partitions,
        settings.profile.topic_durability(),
    )
    .await?;
    let mut consumer = settings
        .consumer(client)?
        .connect()
        .await
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .assign((0..args.partitions).map(|p| TopicPartition::new(topic, p)))
        .map_err(|e| format!("consumer: {e}"))?;
    let producer = settings
        .producer(client)?
        .connect()
        .await
        .map_err(|e| format!("producer: {e}"))?;

    let start = Instant::now();
    let expected = args.records;
    let progress = Progress::new(expected);
    let display = Display::start(Arc::clone(&progress));
    let counter = Arc::clone(&progress);
    let consuming = tokio::spawn(async move {
        let result = consume(&mut consumer, start, expected, &counter).await;
        consumer.close().await;
        result
    });
    let produced = produce(&producer, topic, args, start, &progress).await;
    producer.close().await;
    let consumed = consuming.await;
    display.finish().await;
    let (produce_seconds, produce_first) = produced?;
    let consumed = consumed.map_err(|e| format!("the consumer task failed: {e}"))??;
    // From the first send: the consumer cannot start before the first record exists.
    let consume_seconds = (consumed.last - produce_first).as_secs_f64().max(1e-9);
    Ok(Outcome {
        produce_rate: args.records as f64 / produce_seconds.max(1e-9),
        produce_seconds,
        consume_rate: consumed.records as f64 / consume_seconds,
        consume_seconds,
        consume_mb: consumed.bytes as f64 / 1e6 / consume_seconds,
        latency: consumed.latency,
        timeline: consumed.timeline,
    })
}

/// Sends every record, awaiting deliveries in a window; returns the seconds from the first
/// send to the last acknowledgement, and when the first send was.
async fn produce(
    producer: &Producer,
    topic: &str,
    args: &PerfArgs,
    start: Instant,
    progress: &Progress,
) -> Result<(f64, Duration), String> {
    let topic: std::sync::Arc<str> = topic.into();
    let filler = vec![b'x'; args.size - STAMP];
    let mut pending = VecDeque::with_capacity(WINDOW.min(args.records));
    let first = start.elapsed();
    let paced_from = Instant::now();
    for i in 0..args.records {
        if let Some(rate) = args.rate.filter(|r| *r > 0) {
            // Sleeps only when a millisecond or more ahead of the schedule: no busy wait.
            let due = paced_from + Duration::from_secs_f64(i as f64 / rate as f64);
            if due > Instant::now() + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let mut value = BytesMut::with_capacity(args.size);
        value.put_u64(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        value.put_slice(&filler);
        let record = ProducerRecord::new(topic.clone()).value(Bytes::from(value));
        let delivery = producer
            .send(record)
            .await
            .map_err(|e| format!("send: {e}"))?;
        if pending.len() == WINDOW
            && let Some(oldest) = pending.pop_front()
        {
            wait_delivery(oldest).await?;
        }
        pending.push_back(delivery);
        progress.produced(1);
    }
    while let Some(delivery) = pending.pop_front() {
        wait_delivery(delivery).await?;
    }
    Ok(((start.elapsed() - first).as_secs_f64(), first))
}

async fn wait_delivery(delivery: krafka::producer::DeliveryFuture) -> Result<(), String> {
    delivery
        .await
        .map(|_| ())
        .map_err(|e| format!("delivery: {e}"))
}

/// Receives `expected` records, recording each one's end-to-end latency.
async fn consume(
    consumer: &mut Consumer,
    start: Instant,
    expected: usize,
    progress: &Progress,
) -> Result<Consumed, String> {
    // 1 µs to 60 s at 3 significant digits.
    let mut consumed = Consumed {
        records: 0,
        bytes: 0,
        last: Duration::ZERO,
        latency: Histogram::<u64>::new_with_bounds(1_000, 60_000_000_000, 3)
            .map_err(|e| format!("histogram: {e}"))?,
        timeline: Vec::new(),
    };
    while consumed.records < expected {
        let records = tokio::time::timeout(Duration::from_secs(30), consumer.poll(1000))
            .await
            .map_err(|_| {
                format!(
                    "no record for 30 s after {} of {expected}",
                    thousands(consumed.records as u64)
                )
            })?
            .map_err(|e| format!("consume: {e}"))?;
        let now = start.elapsed();
        let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        consumed.last = now;
        let mut worst = 0;
        for record in &records {
            let value = record.value().unwrap_or_default();
            consumed.bytes += value.len();
            let Some(stamp) = value.first_chunk::<STAMP>() else {
                return Err(format!(
                    "a record at {}-{}@{} is not one of this run's",
                    record.topic(),
                    record.partition(),
                    record.offset()
                ));
            };
            let latency = now_ns.saturating_sub(u64::from_be_bytes(*stamp)).max(1_000);
            worst = worst.max(latency);
            consumed.latency.saturating_record(latency);
        }
        consumed
            .timeline
            .push((now.as_secs_f64(), worst as f64 / 1e6));
        consumed.records += records.len();
        progress.consumed(records.len());
    }
    Ok(consumed)
}

fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2}M", per_second / 1e6)
    } else {
        format!("{:.0}k", per_second / 1e3)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(rate(2_430_000.0), "2.43M");
        assert_eq!(rate(450_000.0), "450k");
    }
}
