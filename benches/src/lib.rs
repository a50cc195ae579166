//! Shared inputs for Krafka's criterion benchmarks (see `benches/`).
//!
//! Payloads are deterministic and text-like, so compression ratios resemble real JSON-ish
//! records rather than random bytes (incompressible) or zeros (trivially compressible).

use krafka_protocol::messages as m;

pub mod process;

pub use process::{BrokerProcess, cpu_seconds, serve_until_stdin_closes};

/// A deterministic payload of `len` bytes that compresses about as well as typical JSON.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "\"id\":",
        "\"user\":",
        "\"event\":",
        "click",
        "view",
        "purchase",
        "\"ts\":",
        "true",
        "false",
        "null",
        "{",
        "}",
        ",",
        "\"amount\":",
        "\"sku\":",
        "\"session\":",
    ];
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let pick = (state >> 33) as usize;
        if pick.is_multiple_of(3) {
            // Digits keep the data from being a pure dictionary.
            out.extend_from_slice(format!("{}", (state >> 40) % 100_000).as_bytes());
        } else {
            out.extend_from_slice(WORDS[pick % WORDS.len()].as_bytes());
        }
    }
    out.truncate(len);
    out
}

/// A batch of 100-byte records of about 16 KiB, uncompressed; returns it and its record count.
pub fn batch_16k() -> Result<(bytes::Bytes, u64), krafka_protocol::EncodeError> {
    use krafka_protocol::compression::{Codecs, Compression};
    use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};
    let mut builder = RecordBatchBuilder::new(BatchOptions {
        compression: Compression::None,
        initial_capacity: 16 * 1024 + 512,
        ..Default::default()
    });
    let value = payload(100, 1);
    let mut count = 0;
    while builder.size_estimate() + 120 <= 16 * 1024 {
        builder.append(1_700_000_000_000, None, Some(&value), &[])?;
        count += 1;
    }
    Ok((builder.finish(&Codecs::default())?, count))
}

/// A Produce request (acks=1) of `records` to partition 0 of `topic`.
pub fn produce_request(topic: &'static str, records: bytes::Bytes) -> m::ProduceRequest {
    m::ProduceRequest {
        acks: 1,
        timeout_ms: 30_000,
        topic_data: vec![m::produce_request::TopicProduceData {
            name: topic.into(),
            partition_data: vec![m::produce_request::PartitionProduceData {
                index: 0,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A 1 MiB Fetch of partition 0 of `topic` from offset 0, waiting up to `max_wait_ms`.
pub fn fetch_request(topic: &'static str, max_wait_ms: i32) -> m::FetchRequest {
    m::FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![m::fetch_request::FetchTopic {
            topic: topic.into(),
            partitions: vec![m::fetch_request::FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn payload_is_deterministic_and_sized() {
        assert_eq!(super::payload(100, 1), super::payload(100, 1));
        assert_ne!(super::payload(100, 1), super::payload(100, 2));
        assert_eq!(super::payload(1024, 3).len(), 1024);
    }
}
