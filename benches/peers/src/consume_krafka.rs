//! Krafka's consumer, driven as its docs advise: `assign` every partition from the beginning
//! and `poll(500)` (Java's `max.poll.records`) in a loop, reading each value's bytes.

use std::time::Duration;

use krafka_consumer::{ConsumerBuilder, OffsetReset, TopicPartition};

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
    let mut builder = ConsumerBuilder::new()
        .bootstrap_servers(run.bootstrap.as_str())
        .auto_offset_reset(OffsetReset::Earliest)
        .fetch_max_wait(Duration::from_millis(run.fetch_wait_ms));
    if let Some(security) = crate::krafka_security(run.tls_ca.as_deref()) {
        builder = builder.security(security);
    }
    let mut consumer = builder
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut timed = Timed::start();
    consumer
        .assign((0..run.partitions).map(|p| TopicPartition::new(run.topic.as_str(), p)))
        .map_err(|e| e.to_string())?;
    let mut received = 0;
    let mut bytes = 0usize;
    while received < run.records {
        let records = consumer.poll(500).await.map_err(|e| e.to_string())?;
        received += records.len();
        bytes += records
            .iter()
            .map(|r| r.value().map_or(0, <[u8]>::len))
            .sum::<usize>();
    }
    timed.stop();
    consumer.close().await;
    run.check_bytes(received, bytes)?;
    Ok((timed, received))
}
