//! Protocol benchmarks: record batch encode/decode per codec, CRC32C, and Produce/Fetch message
//! encode/decode, each beside the `kafka-protocol` crate doing the same work.
//!
//! Run: `cargo bench -p krafka-benches --bench protocol`. Results and ratios are recorded in
//! `docs/performance.md`.

#![allow(missing_docs)]
// criterion_group! generates undocumented items
// A benchmark is a harness like a test: a failed step should stop it loudly.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::unreachable
)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kafka_protocol::protocol::{Decodable as _, Encodable as _};
use kafka_protocol::records as kp;
use krafka_benches::payload;
use krafka_protocol::codec::ChunkedBuf;
use krafka_protocol::compression::{Codecs, Compression};
use krafka_protocol::messages as ours;
use krafka_protocol::records::{BatchOptions, DecodeOptions, RecordBatch, RecordBatchBuilder};
use krafka_protocol::{Decode, Encode};

const RECORDS_PER_BATCH: usize = 1000;
const CODECS: [(Compression, kp::Compression); 5] = [
    (Compression::None, kp::Compression::None),
    (Compression::Gzip, kp::Compression::Gzip),
    (Compression::Snappy, kp::Compression::Snappy),
    (Compression::Lz4, kp::Compression::Lz4),
    (Compression::Zstd, kp::Compression::Zstd),
];

fn values(size: usize) -> Vec<Bytes> {
    (0..RECORDS_PER_BATCH)
        .map(|i| Bytes::from(payload(size, i as u64)))
        .collect()
}

fn key(i: usize) -> [u8; 8] {
    (i as u64).to_be_bytes()
}

fn our_batch(values: &[Bytes], compression: Compression, codecs: &Codecs) -> Bytes {
    let options = BatchOptions {
        compression,
        producer_id: 1000,
        producer_epoch: 0,
        base_sequence: 0,
        initial_capacity: values.iter().map(Bytes::len).sum::<usize>() + 32 * values.len(),
        ..BatchOptions::default()
    };
    let mut builder = RecordBatchBuilder::new(options);
    for (i, v) in values.iter().enumerate() {
        builder
            .append(1_700_000_000_000 + i as i64, Some(&key(i)), Some(v), &[])
            .expect("append");
    }
    builder.finish(codecs).expect("finish")
}

fn their_records(values: &[Bytes]) -> Vec<kp::Record> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| kp::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 1000,
            producer_epoch: 0,
            timestamp_type: kp::TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::copy_from_slice(&key(i))),
            value: Some(v.clone()),
            headers: Default::default(),
        })
        .collect()
}

fn batch_encode(c: &mut Criterion) {
    let codecs = Codecs::default();
    for size in [100usize, 1024] {
        let values = values(size);
        let theirs = their_records(&values);
        let mut group = c.benchmark_group(format!("batch_encode/{size}B"));
        group.throughput(Throughput::Bytes((size * RECORDS_PER_BATCH) as u64));
        for (ours_codec, their_codec) in CODECS {
            group.bench_function(BenchmarkId::new("krafka", ours_codec.name()), |b| {
                b.iter(|| black_box(our_batch(&values, ours_codec, &codecs)))
            });
            let options = kp::RecordEncodeOptions {
                version: 2,
                compression: their_codec,
            };
            group.bench_function(BenchmarkId::new("kafka-protocol", ours_codec.name()), |b| {
                b.iter(|| {
                    let mut buf = BytesMut::with_capacity(size * RECORDS_PER_BATCH + 64 * 1024);
                    kp::RecordBatchEncoder::encode(&mut buf, theirs.iter(), &options)
                        .expect("encode");
                    black_box(buf)
                })
            });
        }
        group.finish();
    }
}

fn batch_decode(c: &mut Criterion) {
    let codecs = Codecs::default();
    let options = DecodeOptions::default();
    for size in [100usize, 1024] {
        let values = values(size);
        let mut group = c.benchmark_group(format!("batch_decode/{size}B"));
        group.throughput(Throughput::Bytes((size * RECORDS_PER_BATCH) as u64));
        for (ours_codec, _) in CODECS {
            let batch = our_batch(&values, ours_codec, &codecs);
            group.bench_function(BenchmarkId::new("krafka", ours_codec.name()), |b| {
                b.iter(|| {
                    let mut input = batch.clone();
                    let decoded = RecordBatch::decode(&mut input, &options).expect("decode");
                    let mut total = 0usize;
                    for record in decoded.records(&options).expect("records") {
                        let record = record.expect("record");
                        total += record.value().map_or(0, <[u8]>::len);
                    }
                    assert_eq!(total, size * RECORDS_PER_BATCH);
                    black_box(total)
                })
            });
            group.bench_function(BenchmarkId::new("kafka-protocol", ours_codec.name()), |b| {
                b.iter(|| {
                    let mut input = batch.clone();
                    let set = kp::RecordBatchDecoder::decode(&mut input).expect("decode");
                    let total: usize = set
                        .records
                        .iter()
                        .map(|r| r.value.as_ref().map_or(0, Bytes::len))
                        .sum();
                    assert_eq!(total, size * RECORDS_PER_BATCH);
                    black_box(total)
                })
            });
        }
        group.finish();
    }
}

fn crc(c: &mut Criterion) {
    let mut group = c.benchmark_group("crc32c");
    for size in [16 * 1024usize, 1024 * 1024] {
        let data = payload(size, 7);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| black_box(crc32c::crc32c(black_box(&data))))
        });
    }
    group.finish();
}

/// 8 partitions with a 16 KiB batch each: a typical full Produce request.
fn produce_pair() -> (
    ours::ProduceRequest,
    kafka_protocol::messages::ProduceRequest,
) {
    use kafka_protocol::messages as theirs;
    let batch = Bytes::from(payload(16 * 1024, 11));
    let ours = ours::ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![ours::produce_request::TopicProduceData {
            name: "bench".into(),
            partition_data: (0..8)
                .map(|p| ours::produce_request::PartitionProduceData {
                    index: p,
                    records: Some(batch.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let theirs = theirs::ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            theirs::produce_request::TopicProduceData::default()
                .with_name(theirs::TopicName(
                    kafka_protocol::protocol::StrBytes::from_static_str("bench"),
                ))
                .with_partition_data(
                    (0..8)
                        .map(|p| {
                            theirs::produce_request::PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(batch.clone()))
                        })
                        .collect(),
                ),
        ]);
    (ours, theirs)
}

/// A v12 fetch over 1,000 partitions (10 topics × 100): the request a busy consumer sends.
fn fetch_request_pair() -> (ours::FetchRequest, kafka_protocol::messages::FetchRequest) {
    use kafka_protocol::messages as theirs;
    let names: Vec<String> = (0..10).map(|t| format!("topic-{t}")).collect();
    let ours = ours::FetchRequest {
        replica_id: -1,
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 50 << 20,
        topics: names
            .iter()
            .map(|n| ours::fetch_request::FetchTopic {
                topic: n.clone().into(),
                partitions: (0..100)
                    .map(|p| ours::fetch_request::FetchPartition {
                        partition: p,
                        current_leader_epoch: 3,
                        fetch_offset: 1_000_000 + i64::from(p),
                        partition_max_bytes: 1 << 20,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let theirs = theirs::FetchRequest::default()
        .with_replica_id(theirs::BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_topics(
            names
                .iter()
                .map(|n| {
                    theirs::fetch_request::FetchTopic::default()
                        .with_topic(theirs::TopicName(
                            kafka_protocol::protocol::StrBytes::from_string(n.clone()),
                        ))
                        .with_partitions(
                            (0..100)
                                .map(|p| {
                                    theirs::fetch_request::FetchPartition::default()
                                        .with_partition(p)
                                        .with_current_leader_epoch(3)
                                        .with_fetch_offset(1_000_000 + i64::from(p))
                                        .with_partition_max_bytes(1 << 20)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    (ours, theirs)
}

/// A v12 fetch response: `partitions` partitions, each with `batch` bytes of records.
fn fetch_response_bytes(partitions: i32, batch: usize) -> Bytes {
    let records = Bytes::from(payload(batch, 5));
    let response = ours::FetchResponse {
        session_id: 1,
        responses: vec![ours::fetch_response::FetchableTopicResponse {
            topic: "bench".into(),
            partitions: (0..partitions)
                .map(|p| ours::fetch_response::PartitionData {
                    partition_index: p,
                    high_watermark: 1_000_000,
                    last_stable_offset: 1_000_000,
                    log_start_offset: 0,
                    records: Some(records.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    response.encode_to_bytes(12).expect("encode")
}

fn messages(c: &mut Criterion) {
    let (ours_produce, theirs_produce) = produce_pair();
    let produce_bytes = ours_produce.encode_to_bytes(9).expect("encode");
    let mut group = c.benchmark_group("produce_request_v9");
    group.throughput(Throughput::Bytes(produce_bytes.len() as u64));
    group.bench_function("encode/krafka-chunked", |b| {
        b.iter(|| {
            let mut buf = ChunkedBuf::with_capacity(256);
            ours_produce.encode(&mut buf, 9).expect("encode");
            black_box(buf.into_chunks())
        })
    });
    group.bench_function("encode/krafka-flat", |b| {
        b.iter(|| black_box(ours_produce.encode_to_bytes(9).expect("encode")))
    });
    group.bench_function("encode/kafka-protocol", |b| {
        b.iter(|| {
            let size = theirs_produce.compute_size(9).expect("size");
            let mut buf = BytesMut::with_capacity(size);
            theirs_produce.encode(&mut buf, 9).expect("encode");
            black_box(buf.freeze())
        })
    });
    group.bench_function("decode/krafka", |b| {
        b.iter(|| {
            black_box(ours::ProduceRequest::decode(&mut produce_bytes.clone(), 9).expect("decode"))
        })
    });
    group.bench_function("decode/kafka-protocol", |b| {
        b.iter(|| {
            black_box(
                kafka_protocol::messages::ProduceRequest::decode(&mut produce_bytes.clone(), 9)
                    .expect("decode"),
            )
        })
    });
    group.finish();

    let (ours_fetch, theirs_fetch) = fetch_request_pair();
    let fetch_bytes = ours_fetch.encode_to_bytes(12).expect("encode");
    let mut group = c.benchmark_group("fetch_request_v12_1000_partitions");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("encode/krafka", |b| {
        b.iter(|| black_box(ours_fetch.encode_to_bytes(12).expect("encode")))
    });
    group.bench_function("encode/kafka-protocol", |b| {
        b.iter(|| {
            let size = theirs_fetch.compute_size(12).expect("size");
            let mut buf = BytesMut::with_capacity(size);
            theirs_fetch.encode(&mut buf, 12).expect("encode");
            black_box(buf.freeze())
        })
    });
    group.bench_function("decode/krafka", |b| {
        b.iter(|| {
            black_box(ours::FetchRequest::decode(&mut fetch_bytes.clone(), 12).expect("decode"))
        })
    });
    group.bench_function("decode/kafka-protocol", |b| {
        b.iter(|| {
            black_box(
                kafka_protocol::messages::FetchRequest::decode(&mut fetch_bytes.clone(), 12)
                    .expect("decode"),
            )
        })
    });
    group.finish();

    for (partitions, batch) in [(100, 16 * 1024), (1000, 128)] {
        let response = fetch_response_bytes(partitions, batch);
        let mut group = c.benchmark_group(format!("fetch_response_v12/{partitions}x{batch}B"));
        group.throughput(Throughput::Elements(partitions as u64));
        group.bench_function("decode/krafka", |b| {
            b.iter(|| {
                black_box(ours::FetchResponse::decode(&mut response.clone(), 12).expect("decode"))
            })
        });
        group.bench_function("decode/kafka-protocol", |b| {
            b.iter(|| {
                black_box(
                    kafka_protocol::messages::FetchResponse::decode(&mut response.clone(), 12)
                        .expect("decode"),
                )
            })
        });
        group.finish();
    }
}

/// The whole producer-side protocol work each crate needs for one Produce request: 8 partitions
/// × 1,000 records of `size` bytes from the application's key/value pairs to request bytes.
/// kafka-protocol's encoder takes `Record` structs, so building them is part of its work here,
/// as it would be in a client; ours appends straight from the slices.
fn produce_path(c: &mut Criterion) {
    use kafka_protocol::messages as theirs;
    let codecs = Codecs::default();
    for size in [100usize, 1024] {
        let values = values(size);
        let mut group = c.benchmark_group(format!("produce_path/8x1000x{size}B"));
        group.throughput(Throughput::Bytes((8 * size * RECORDS_PER_BATCH) as u64));
        group.bench_function("krafka", |b| {
            b.iter(|| {
                let partition_data = (0..8)
                    .map(|p| ours::produce_request::PartitionProduceData {
                        index: p,
                        records: Some(our_batch(&values, Compression::None, &codecs)),
                        ..Default::default()
                    })
                    .collect();
                let request = ours::ProduceRequest {
                    acks: -1,
                    timeout_ms: 30_000,
                    topic_data: vec![ours::produce_request::TopicProduceData {
                        name: "bench".into(),
                        partition_data,
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                let mut buf = ChunkedBuf::with_capacity(256);
                request.encode(&mut buf, 9).expect("encode");
                black_box(buf.into_chunks())
            })
        });
        let options = kp::RecordEncodeOptions {
            version: 2,
            compression: kp::Compression::None,
        };
        group.bench_function("kafka-protocol", |b| {
            b.iter(|| {
                let partition_data = (0..8)
                    .map(|p| {
                        let records = their_records(&values);
                        let mut batch =
                            BytesMut::with_capacity(size * RECORDS_PER_BATCH + 64 * 1024);
                        kp::RecordBatchEncoder::encode(&mut batch, records.iter(), &options)
                            .expect("encode");
                        theirs::produce_request::PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(batch.freeze()))
                    })
                    .collect();
                let request = theirs::ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(30_000)
                    .with_topic_data(vec![
                        theirs::produce_request::TopicProduceData::default()
                            .with_name(theirs::TopicName(
                                kafka_protocol::protocol::StrBytes::from_static_str("bench"),
                            ))
                            .with_partition_data(partition_data),
                    ]);
                let mut buf = BytesMut::with_capacity(request.compute_size(9).expect("size"));
                request.encode(&mut buf, 9).expect("encode");
                black_box(buf.freeze())
            })
        });
        group.finish();
    }
}

/// The whole consumer-side protocol work for one Fetch response: decode it, then decode every
/// partition's batch and visit every record. 8 partitions × 1,000 records of `size` bytes.
fn fetch_path(c: &mut Criterion) {
    let codecs = Codecs::default();
    let options = DecodeOptions::default();
    for size in [100usize, 1024] {
        let batch = our_batch(&values(size), Compression::None, &codecs);
        let response = ours::FetchResponse {
            responses: vec![ours::fetch_response::FetchableTopicResponse {
                topic: "bench".into(),
                partitions: (0..8)
                    .map(|p| ours::fetch_response::PartitionData {
                        partition_index: p,
                        high_watermark: 8000,
                        records: Some(batch.clone()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_bytes(12)
        .expect("encode");
        let expected = 8 * size * RECORDS_PER_BATCH;
        let mut group = c.benchmark_group(format!("fetch_path/8x1000x{size}B"));
        group.throughput(Throughput::Bytes(expected as u64));
        group.bench_function("krafka", |b| {
            b.iter(|| {
                let decoded =
                    ours::FetchResponse::decode(&mut response.clone(), 12).expect("decode");
                let mut total = 0usize;
                for topic in &decoded.responses {
                    for partition in &topic.partitions {
                        let records = partition.records.clone().unwrap_or_default();
                        let set = krafka_protocol::records::RecordSet::with_options(
                            records,
                            options.clone(),
                        );
                        for record in set.records() {
                            total += record.expect("record").value().map_or(0, <[u8]>::len);
                        }
                    }
                }
                assert_eq!(total, expected);
                black_box(total)
            })
        });
        group.bench_function("krafka-views", |b| {
            b.iter(|| {
                let decoded =
                    ours::FetchResponse::decode(&mut response.clone(), 12).expect("decode");
                let mut total = 0usize;
                for topic in &decoded.responses {
                    for partition in &topic.partitions {
                        let records = partition.records.clone().unwrap_or_default();
                        let set = krafka_protocol::records::RecordSet::with_options(
                            records,
                            options.clone(),
                        );
                        for batch in set {
                            let krafka_protocol::records::Batch::V2(batch) = batch.expect("batch")
                            else {
                                unreachable!("the bench writes v2 batches")
                            };
                            let mut records = batch.records(&options).expect("records");
                            while let Some(view) = records.next_view() {
                                total += view.expect("record").value.map_or(0, <[u8]>::len);
                            }
                        }
                    }
                }
                assert_eq!(total, expected);
                black_box(total)
            })
        });
        group.bench_function("kafka-protocol", |b| {
            b.iter(|| {
                let decoded =
                    kafka_protocol::messages::FetchResponse::decode(&mut response.clone(), 12)
                        .expect("decode");
                let mut total = 0usize;
                for topic in &decoded.responses {
                    for partition in &topic.partitions {
                        let mut records = partition.records.clone().unwrap_or_default();
                        for set in kp::RecordBatchDecoder::decode_all(&mut records).expect("decode")
                        {
                            total += set
                                .records
                                .iter()
                                .map(|r| r.value.as_ref().map_or(0, Bytes::len))
                                .sum::<usize>();
                        }
                    }
                }
                assert_eq!(total, expected);
                black_box(total)
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = batch_encode, batch_decode, crc, messages, produce_path, fetch_path
}
criterion_main!(benches);
