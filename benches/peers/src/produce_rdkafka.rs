//! rdkafka 0.39 (librdkafka 2.12.1), driven as its docs and PEERS.md advise, in both of its
//! producer shapes: a `BaseProducer` serving delivery reports with `poll(0)` every 128 sends and
//! `poll(1 ms)` on `QueueFull`, and a `ThreadedProducer` (its own polling thread; PEERS.md found
//! it faster on one partition against tansu). `partitioner=murmur2_random` puts keys where Java
//! and Krafka put them. Deliveries are counted in the delivery callback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer,
};

use crate::{ProduceRun, Timed};

#[derive(Default)]
struct Counting {
    delivered: AtomicUsize,
    failed: AtomicUsize,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn config(run: &ProduceRun) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &run.bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("batch.size", "16384")
        .set("compression.type", "none")
        .set("partitioner", "murmur2_random");
    if let Some(ca) = &run.tls_ca {
        config
            .set("security.protocol", "ssl")
            .set("ssl.ca.location", ca);
    }
    config
}

fn finish(
    context: &Counting,
    producer: &impl Producer<Counting>,
    run: &ProduceRun,
) -> Result<usize, String> {
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| format!("flush: {e}"))?;
    let failed = context.failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} records failed"));
    }
    // The warm-up record was delivered before the clock started.
    let delivered = context.delivered.load(Ordering::Relaxed) - 1;
    if delivered != run.records {
        return Err(format!("{delivered} of {} records delivered", run.records));
    }
    Ok(delivered)
}

/// A record as this benchmark sends it.
type Record<'a> = BaseRecord<'a, str, [u8]>;

/// `BaseProducer`, polled by the sending thread.
pub fn run_base_producer(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let producer: BaseProducer<Counting> = config(run)
        .create_with_context(Counting::default())
        .map_err(|e| format!("producer: {e}"))?;
    produce(
        &producer,
        run,
        BaseProducer::send,
        |p| p.poll(Duration::ZERO),
        |p| p.poll(Duration::from_millis(1)),
    )
}

/// `ThreadedProducer`, polled by its own thread.
pub fn run_threaded_producer(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let producer: ThreadedProducer<Counting> = config(run)
        .create_with_context(Counting::default())
        .map_err(|e| format!("producer: {e}"))?;
    produce(
        &producer,
        run,
        ThreadedProducer::send,
        |_| {},
        // The producer's own thread serves delivery reports; wait for it to make room.
        |_| std::thread::sleep(Duration::from_millis(1)),
    )
}

/// Sends the warm-up record, then the timed run: `serve` every 128 sends, `wait_for_room`
/// whenever the queue is full; then flushes and checks every delivery.
fn produce<P: Producer<Counting>>(
    producer: &P,
    run: &ProduceRun,
    send: impl for<'a> Fn(&P, Record<'a>) -> Result<(), (KafkaError, Record<'a>)>,
    serve: impl Fn(&P),
    wait_for_room: impl Fn(&P),
) -> Result<(Timed, usize), String> {
    let keys: Vec<String> = (0..1000).map(ProduceRun::key).collect();
    let value = run.value();
    let send_one = |key: &str| -> Result<(), String> {
        let mut record = BaseRecord::to(&run.topic)
            .key(key)
            .payload(value.as_slice());
        loop {
            match send(producer, record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    wait_for_room(producer);
                }
                Err((e, _)) => return Err(format!("send: {e}")),
            }
        }
    };
    send_one(&keys[0])?;
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("warm-up: {e}"))?;

    let timed = Timed::start();
    for i in 0..run.records {
        send_one(&keys[i % keys.len()])?;
        if i % 128 == 0 {
            serve(producer);
        }
    }
    let delivered = finish(producer.context(), producer, run)?;
    Ok((timed, delivered))
}
