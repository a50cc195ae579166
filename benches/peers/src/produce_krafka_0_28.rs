//! krafka 0.28.1 (crates.io), driven as PEERS.md advises: pipelined `enqueue`, at most 65,536
//! outstanding delivery handles, the oldest awaited when the window is full.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use krafka_0_28::producer::RecordMetadata;
use krafka_0_28::{Kafka, Record};

use crate::{ProduceRun, Timed};

const WINDOW: usize = 65_536;

pub fn run(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(produce(run))
}

async fn produce(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let producer = Kafka::builder(run.bootstrap.as_str())
        .client_id("krafka-0.28-peer")
        .security(crate::krafka_0_28_security(run.tls_ca.as_deref()))
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?
        .producer()
        .idempotent(true)
        .linger(Duration::from_millis(5))
        .batch_size(16 * 1024)
        .build()
        .await
        .map_err(|e| format!("producer: {e}"))?;
    let keys: Vec<Bytes> = (0..1000).map(|i| Bytes::from(ProduceRun::key(i))).collect();
    let value = Bytes::from(run.value());
    let record = |key: &Bytes| Record::new(run.topic.as_str(), value.clone()).key(key.clone());
    persisted(
        producer
            .send(record(&keys[0]))
            .await
            .map_err(|e| format!("warm-up: {e}"))?,
    )?;

    let timed = Timed::start();
    let mut window = VecDeque::with_capacity(WINDOW);
    let mut delivered = 0;
    for i in 0..run.records {
        window.push_back(
            producer
                .enqueue(record(&keys[i % keys.len()]))
                .await
                .map_err(|e| e.to_string())?,
        );
        if window.len() >= WINDOW
            && let Some(oldest) = window.pop_front()
        {
            persisted(oldest.await.map_err(|e| format!("delivery: {e}"))?)?;
            delivered += 1;
        }
    }
    for handle in window {
        persisted(handle.await.map_err(|e| format!("delivery: {e}"))?)?;
        delivered += 1;
    }
    producer.close().await.map_err(|e| format!("close: {e}"))?;
    Ok((timed, delivered))
}

/// Refuses a delivery that is not durably in the log (krafka 0.28.1 reports deduplicated and
/// unacknowledged outcomes as `Ok`).
fn persisted(metadata: RecordMetadata) -> Result<(), String> {
    if metadata.is_persisted() {
        Ok(())
    } else {
        Err(format!("not persisted: {metadata:?}"))
    }
}
