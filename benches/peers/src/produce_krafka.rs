//! Krafka's producer, driven as its docs advise: `send` appends and returns a delivery future;
//! up to 100,000 futures are kept outstanding and the oldest is awaited when the window is full.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use krafka_producer::{ProducerBuilder, ProducerRecord, RecordMetadata};

use crate::{ProduceRun, Timed};

const WINDOW: usize = 100_000;

pub fn run(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(produce(run))
}

async fn produce(run: &ProduceRun) -> Result<(Timed, usize), String> {
    let mut builder = ProducerBuilder::new().bootstrap_servers(run.bootstrap.as_str());
    if let Some(security) = crate::krafka_security(run.tls_ca.as_deref()) {
        builder = builder.security(security);
    }
    let producer = builder
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let topic: Arc<str> = run.topic.as_str().into();
    let keys: Vec<Bytes> = (0..1000).map(|i| Bytes::from(ProduceRun::key(i))).collect();
    let value = Bytes::from(run.value());
    let record = |key: &Bytes| {
        ProducerRecord::new(topic.clone())
            .key(key.clone())
            .value(value.clone())
    };
    let warm_up = producer
        .send(record(&keys[0]))
        .await
        .map_err(|e| e.to_string())?;
    warm_up.await.map_err(|e| format!("warm-up: {e}"))?;

    let timed = Timed::start();
    let mut window = VecDeque::with_capacity(WINDOW);
    let mut delivered = 0;
    for i in 0..run.records {
        window.push_back(
            producer
                .send(record(&keys[i % keys.len()]))
                .await
                .map_err(|e| e.to_string())?,
        );
        if window.len() >= WINDOW
            && let Some(oldest) = window.pop_front()
        {
            acknowledged(oldest.await.map_err(|e| format!("delivery: {e}"))?)?;
            delivered += 1;
        }
    }
    for future in window {
        acknowledged(future.await.map_err(|e| format!("delivery: {e}"))?)?;
        delivered += 1;
    }
    producer.close().await;
    Ok((timed, delivered))
}

/// Refuses an outcome without an offset (with acks=all every delivered record has one).
fn acknowledged(metadata: RecordMetadata) -> Result<(), String> {
    match metadata.offset {
        Some(_) => Ok(()),
        None => Err(format!("no offset: {metadata:?}")),
    }
}
