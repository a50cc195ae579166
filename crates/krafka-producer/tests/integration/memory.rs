//! Memory stays bounded: with the broker stalled, the process grows by at most
//! `buffer_memory` plus a small constant however much the application tries to send. Measured
//! as resident set size, in a test binary of its own so that other tests do not disturb it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use krafka_mock::{Control, Times};
use krafka_producer::{ProduceError, ProducerRecord};
use krafka_protocol::ApiKey;

/// Resident set size in bytes, from /proc.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_broker_bounds_process_memory_by_buffer_memory() {
    const BUFFER: usize = 16 << 20;
    const SLACK: usize = 8 << 20;
    let cluster = common::cluster(1, "m", 4).await;
    let producer = common::builder(&cluster)
        .buffer_memory(BUFFER)
        .batch_size(64 * 1024)
        .linger(Duration::from_millis(1))
        .max_block(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    // Warm up: connections, producer id, topic metadata.
    let payload = Bytes::from(vec![42u8; 1024]);
    producer
        .send(ProducerRecord::new("m").value(payload.clone()))
        .await
        .unwrap()
        .await
        .unwrap();
    cluster.on(ApiKey::PRODUCE, Times::Always, |_| Control::NoAnswer);
    let before = rss();
    let mut accepted = 0usize;
    let mut exhausted = 0;
    // Try to send 64 MiB, four times the buffer.
    for _ in 0..64 * 1024 {
        match producer
            .send(ProducerRecord::new("m").value(payload.clone()))
            .await
        {
            Ok(f) => {
                drop(f);
                accepted += 1;
            }
            Err(ProduceError::BufferExhausted { .. }) => {
                exhausted += 1;
                if exhausted == 3 {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    let grown = rss().saturating_sub(before);
    // Shown with `--nocapture`: the measured growth, for docs/producer.md.
    eprintln!(
        "accepted {accepted} KiB; RSS grew {:.1} MiB for a {} MiB buffer",
        grown as f64 / f64::from(1 << 20),
        BUFFER >> 20
    );
    assert_eq!(exhausted, 3, "sends were refused once the buffer was full");
    assert!(accepted * 1024 <= BUFFER, "accepted {accepted} KiB");
    assert!(
        accepted * 1024 >= BUFFER / 2,
        "the buffer was used: {accepted} KiB"
    );
    assert!(
        grown <= BUFFER + SLACK,
        "RSS grew by {} MiB for a {} MiB buffer",
        grown >> 20,
        BUFFER >> 20
    );
    assert_eq!(producer.metrics().buffer_available, 0);
}
