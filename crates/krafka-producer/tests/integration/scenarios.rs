//! The producer's two-backend scenario: on krafka-mock by default, on the real broker that
//! `KRAFKA_BOOTSTRAP` names under `cargo xtask test` (see `krafka_mock::scenario`).
//!
//! What it checks: an idempotent producer writes keyed records with every codec, and a plain
//! Fetch reads back each partition in send order, every record once, in the partition Java's
//! partitioner picks. Fetches start at batch boundaries (tansu may skip the rest of a batch
//! when a fetch starts inside one) and the test stops on the record count, not the high
//! watermark (tansu reports it as the last batch's base offset + 1).

use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_mock::ScenarioCluster;
use krafka_net::BrokerConnection;
use krafka_producer::{Compression, ProducerBuilder, ProducerRecord, partition_for_key};
use krafka_protocol::messages::FetchRequest;
use krafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use krafka_protocol::records::{Batch, DecodeOptions, RecordSet};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

const PARTITIONS: i32 = 2;
const PER_CODEC: u32 = 300;

/// Every (value, offset) in a partition, read batch by batch from offset 0.
async fn read_partition(
    conn: &BrokerConnection,
    topic: &str,
    partition: i32,
    want: usize,
) -> Vec<u32> {
    let version = conn.api_version(ApiKey::FETCH).unwrap().min(12);
    let mut values = Vec::new();
    let mut offset = 0i64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while values.len() < want && Instant::now() < deadline {
        let request = FetchRequest {
            replica_id: -1,
            max_wait_ms: 10,
            min_bytes: 1,
            max_bytes: 1 << 20,
            topics: vec![FetchTopic {
                topic: StrBytes::from_string(topic.to_owned()),
                partitions: vec![FetchPartition {
                    partition,
                    fetch_offset: offset,
                    partition_max_bytes: 1 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let response = conn.send(&request, version).await.unwrap();
        let data = &response.responses[0].partitions[0];
        assert_eq!(ErrorCode(data.error_code), ErrorCode::NONE);
        let records = data.records.clone().unwrap_or_default();
        let options = DecodeOptions::default();
        for batch in RecordSet::with_options(records, options.clone()) {
            let Ok(Batch::V2(batch)) = batch else { break };
            batch.verify_crc().unwrap();
            assert!(
                batch.producer_id() >= 0,
                "idempotent batches carry the producer id"
            );
            for record in batch.records(&options).unwrap() {
                let record = record.unwrap();
                values.push(u32::from_be_bytes(
                    record.value().unwrap()[..4].try_into().unwrap(),
                ));
            }
            offset = batch.next_offset();
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips() {
    let cluster = ScenarioCluster::start().await.unwrap();
    let topic = ScenarioCluster::unique_topic("krafka-producer");
    let producer = ProducerBuilder::new()
        .bootstrap_servers(cluster.bootstrap())
        .connect()
        .await
        .unwrap();
    let snapshot = producer.metadata().snapshot();
    let broker = snapshot.brokers.values().next().unwrap().clone();
    // A pool of the test's own, to read the topic back.
    let pool = krafka_net::ConnectionPool::new(krafka_net::ConnectionConfig::default());
    let conn = pool.get_connection(&broker.addr()).await.unwrap();
    cluster.create_topic(&topic, PARTITIONS).await.unwrap();
    producer.close().await;

    let mut expected: Vec<Vec<u32>> = vec![Vec::new(); PARTITIONS as usize];
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    for (round, codec) in codecs.into_iter().enumerate() {
        let producer = ProducerBuilder::new()
            .bootstrap_servers(cluster.bootstrap())
            .compression(codec)
            .connect()
            .await
            .unwrap();
        let mut futures = Vec::new();
        for i in 0..PER_CODEC {
            let n = round as u32 * 10_000 + i;
            let key = format!("key-{}", i % 17);
            let mut value = vec![0u8; 100];
            value[..4].copy_from_slice(&n.to_be_bytes());
            let record = ProducerRecord::new(topic.clone())
                .key(key.clone())
                .value(Bytes::from(value));
            futures.push((n, key, producer.send(record).await.unwrap()));
        }
        for (n, key, f) in futures {
            let m = f.await.unwrap_or_else(|e| panic!("{codec}: {e}"));
            assert_eq!(
                m.partition as u32,
                partition_for_key(key.as_bytes(), PARTITIONS as u32)
            );
            expected[m.partition as usize].push(n);
        }
        producer.close().await;
    }
    for p in 0..PARTITIONS {
        let want = &expected[p as usize];
        let got = read_partition(&conn, &topic, p, want.len()).await;
        assert_eq!(
            &got, want,
            "partition {p}: every record once, in send order"
        );
    }
    pool.close().await;
    cluster.shutdown().await;
}
