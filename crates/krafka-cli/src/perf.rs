//! `krafka perf`: produce N records of a given size and consume them back at the same time,
//! reporting each side's throughput and the end-to-end latency (send to receive) percentiles
//! from an HDR histogram.
//!
//! Every record's value starts with the nanoseconds since the run began, written just before
//! `send`; the consumer, in the same process and so on the same clock, subtracts it from the
//! time its poll returned. Without `--bootstrap` the cluster is krafka-mock in this process:
//! quick to try, but it shares the CPU with the client, which the report says.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use krafka::prelude::*;

use crate::say;

/// At most this many deliveries are awaited at once; the oldest is awaited when it is full.
const WINDOW: usize = 100_000;
/// The timestamp at the start of every value.
const STAMP: usize = 8;

/// What `krafka perf` measures.
#[derive(Args)]
pub struct PerfArgs {
    /// The cluster to measure (host:port,...). Without it, an embedded in-process mock cluster.
    #[arg(long)]
    bootstrap: Option<String>,
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
    /// Which acknowledgement the producer waits for (Java's `acks`).
    #[arg(long, value_enum, default_value_t = AcksArg::All)]
    acks: AcksArg,
    /// How long the producer waits to fill a batch (Java's `linger.ms`).
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
    /// The producer's batch size in bytes (Java's `batch.size`).
    #[arg(long, default_value_t = 16 * 1024)]
    batch_size: usize,
    /// The producer's compression codec.
    #[arg(long, value_enum, default_value_t = CodecArg::None)]
    compression: CodecArg,
    /// How long a fetch may wait for data (Java's `fetch.max.wait.ms`).
    #[arg(long, default_value_t = 500)]
    fetch_wait_ms: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum AcksArg {
    /// acks=all: every in-sync replica.
    All,
    /// acks=1: the leader.
    Leader,
}

#[derive(Clone, Copy, ValueEnum)]
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

/// What the consumer side saw.
struct Consumed {
    records: usize,
    bytes: usize,
    first: Option<Duration>,
    last: Duration,
    latency: Histogram<u64>,
}

pub async fn run(args: PerfArgs) -> Result<(), String> {
    if args.size < STAMP {
        return Err(format!(
            "--size must be at least {STAMP} (the send timestamp)"
        ));
    }
    if args.records == 0 || args.partitions <= 0 {
        return Err("--records and --partitions must be positive".into());
    }
    let topic = args.topic.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("krafka-perf-{}-{secs}", std::process::id())
    });
    let (bootstrap, cluster) = match &args.bootstrap {
        Some(bootstrap) => {
            crate::topic::create(bootstrap, &topic, args.partitions, 1).await?;
            say(&format!("cluster: {bootstrap}"));
            (bootstrap.clone(), None)
        }
        None => {
            let cluster = krafka_mock::MockCluster::builder()
                .brokers(args.brokers)
                .topic(topic.clone(), args.partitions)
                .start()
                .await
                .map_err(|e| format!("cannot start the embedded cluster: {e}"))?;
            say(&format!(
                "cluster: embedded krafka-mock, {} broker(s) in this process (it shares the \
                 CPU with the client; give --bootstrap to measure a real cluster)",
                args.brokers
            ));
            (cluster.bootstrap(), Some(cluster))
        }
    };
    say(&format!(
        "topic {topic}: {} partitions; {} records of {} B; acks={}, linger {} ms, batch {} B, \
         compression {}",
        args.partitions,
        thousands(args.records as u64),
        args.size,
        match args.acks {
            AcksArg::All => "all",
            AcksArg::Leader => "1",
        },
        args.linger_ms,
        args.batch_size,
        args.compression.compression(),
    ));
    let result = measure(&args, &bootstrap, &topic).await;
    if let Some(cluster) = cluster {
        cluster.shutdown().await;
    }
    result
}

async fn measure(args: &PerfArgs, bootstrap: &str, topic: &str) -> Result<(), String> {
    let mut consumer = ConsumerBuilder::new()
        .bootstrap_servers(bootstrap)
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(args.fetch_wait_ms))
        .connect()
        .await
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .assign((0..args.partitions).map(|p| TopicPartition::new(topic, p)))
        .map_err(|e| format!("consumer: {e}"))?;
    let producer = ProducerBuilder::new()
        .bootstrap_servers(bootstrap)
        .acks(match args.acks {
            AcksArg::All => Acks::All,
            AcksArg::Leader => Acks::Leader,
        })
        .linger(Duration::from_millis(args.linger_ms))
        .batch_size(args.batch_size)
        .compression(args.compression.compression())
        .connect()
        .await
        .map_err(|e| format!("producer: {e}"))?;

    let start = Instant::now();
    let expected = args.records;
    let consuming = tokio::spawn(async move {
        let result = consume(&mut consumer, start, expected).await;
        consumer.close().await;
        result
    });
    let produced = produce(&producer, topic, args, start).await;
    producer.close().await;
    let (produce_seconds, produce_first) = produced?;
    let consumed = consuming
        .await
        .map_err(|e| format!("the consumer task failed: {e}"))??;
    report(args, produce_seconds, produce_first, &consumed);
    Ok(())
}

/// Sends every record, awaiting deliveries in a window; returns the seconds from the first
/// send to the last acknowledgement.
async fn produce(
    producer: &Producer,
    topic: &str,
    args: &PerfArgs,
    start: Instant,
) -> Result<(f64, Duration), String> {
    let topic: std::sync::Arc<str> = topic.into();
    let filler = vec![b'x'; args.size - STAMP];
    let mut pending = VecDeque::with_capacity(WINDOW.min(args.records));
    let first = start.elapsed();
    for _ in 0..args.records {
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
            let _: RecordMetadata = wait_delivery(oldest).await?;
        }
        pending.push_back(delivery);
    }
    while let Some(delivery) = pending.pop_front() {
        wait_delivery(delivery).await?;
    }
    Ok(((start.elapsed() - first).as_secs_f64(), first))
}

async fn wait_delivery(
    delivery: krafka::producer::DeliveryFuture,
) -> Result<RecordMetadata, String> {
    delivery.await.map_err(|e| format!("delivery: {e}"))
}

/// Receives `expected` records, recording each one's end-to-end latency.
async fn consume(
    consumer: &mut Consumer,
    start: Instant,
    expected: usize,
) -> Result<Consumed, String> {
    // 1 µs to 60 s at 3 significant digits.
    let mut latency = Histogram::<u64>::new_with_bounds(1_000, 60_000_000_000, 3)
        .map_err(|e| format!("histogram: {e}"))?;
    let mut consumed = Consumed {
        records: 0,
        bytes: 0,
        first: None,
        last: Duration::ZERO,
        latency: Histogram::new(3).map_err(|e| format!("histogram: {e}"))?,
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
        consumed.first.get_or_insert(now);
        consumed.last = now;
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
            let sent = u64::from_be_bytes(*stamp);
            latency.saturating_record(now_ns.saturating_sub(sent).max(1_000));
        }
        consumed.records += records.len();
    }
    consumed.latency = latency;
    Ok(consumed)
}

fn report(args: &PerfArgs, produce_seconds: f64, produce_first: Duration, consumed: &Consumed) {
    let records = args.records as f64;
    let mb = |seconds: f64| records * args.size as f64 / 1e6 / seconds;
    say(&format!(
        "produce: {} records in {produce_seconds:.2} s: {} records/s, {:.1} MB/s",
        thousands(args.records as u64),
        rate(records / produce_seconds),
        mb(produce_seconds)
    ));
    // From the first send: the consumer cannot start before the first record exists.
    let consume_seconds = (consumed.last - produce_first).as_secs_f64().max(1e-9);
    say(&format!(
        "consume: {} records in {consume_seconds:.2} s: {} records/s, {:.1} MB/s",
        thousands(consumed.records as u64),
        rate(consumed.records as f64 / consume_seconds),
        consumed.bytes as f64 / 1e6 / consume_seconds
    ));
    let ms = |q: f64| consumed.latency.value_at_quantile(q) as f64 / 1e6;
    say(&format!(
        "end-to-end latency: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        consumed.latency.max() as f64 / 1e6
    ));
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
