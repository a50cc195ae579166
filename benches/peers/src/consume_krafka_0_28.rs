//! krafka 0.28.1 (crates.io)'s consumer, driven as PEERS.md advises: `assign` every partition
//! from the earliest offset and `poll` with `max_poll_records(-1)` (with its default it stops
//! mid-batch and refetches from there, which tansu's mid-batch fetch bug turns into skipped and
//! repeated records).

use std::time::Duration;

use krafka_0_28::Kafka;
use krafka_0_28::consumer::AutoOffsetReset;

use crate::{ConsumeRun, Timed};

pub fn run(run: &ConsumeRun) -> Result<(Timed, usize), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(consume(run))
}

async fn consume(run: &ConsumeRun) -> Result<(Timed, usize), String> {
    let consumer = Kafka::builder(run.bootstrap.as_str())
        .client_id("krafka-0.28-peer")
        .security(crate::krafka_0_28_security(run.tls_ca.as_deref()))
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?
        .consumer_without_group()
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .enable_auto_commit(false)
        .fetch_max_wait(Duration::from_millis(run.fetch_wait_ms))
        .max_poll_records(-1)
        .build()
        .await
        .map_err(|e| format!("consumer: {e}"))?;
    let mut timed = Timed::start();
    consumer
        .assign(&run.topic, (0..run.partitions).collect())
        .await
        .map_err(|e| format!("assign: {e}"))?;
    let mut received = 0;
    let mut bytes = 0usize;
    while received < run.records {
        let records = consumer
            .poll(Duration::from_millis(100))
            .await
            .map_err(|e| format!("poll: {e}"))?;
        received += records.len();
        bytes += records
            .iter()
            .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
            .sum::<usize>();
    }
    timed.stop();
    let _ = consumer.close().await;
    run.check_bytes(received, bytes)?;
    Ok((timed, received))
}
