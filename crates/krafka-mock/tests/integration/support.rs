//! A raw-frame client and request builders shared by the mock's integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use krafka_mock::MockCluster;
use krafka_protocol::compression::{Codecs, Compression};
use krafka_protocol::header::{decode_response_body, decode_response_header, encode_request_frame};
use krafka_protocol::messages::{self as m, RequestHeader};
use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};
use krafka_protocol::{RequestMessage, ResponseMessage, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A minimal client: one connection, requests written and answered in order.
pub struct RawClient {
    pub stream: TcpStream,
    next_id: i32,
}

impl RawClient {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            next_id: 1,
        }
    }

    pub async fn send<M: RequestMessage>(&mut self, body: &M, version: i16) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader {
            correlation_id: id,
            client_id: Some(StrBytes::from_static_str("raw-test")),
            ..Default::default()
        };
        let mut buf = BytesMut::new();
        encode_request_frame(&mut buf, &header, body, version).unwrap();
        self.stream.write_all(&buf).await.unwrap();
        id
    }

    pub async fn recv_frame(&mut self) -> Bytes {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await.unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).await.unwrap();
        Bytes::from(body)
    }

    pub async fn recv<M: ResponseMessage>(&mut self, version: i16) -> (i32, M) {
        let mut frame = self.recv_frame().await;
        let header = decode_response_header(&mut frame, M::API_KEY, version).unwrap();
        (
            header.correlation_id,
            decode_response_body::<M>(frame, version).unwrap(),
        )
    }

    pub async fn call<M: RequestMessage>(&mut self, body: &M, version: i16) -> M::Response {
        let id = self.send(body, version).await;
        let (got, response) = self.recv::<M::Response>(version).await;
        assert_eq!(got, id, "responses come back in order");
        response
    }
}

pub fn batch(values: &[&[u8]]) -> Bytes {
    let mut builder = RecordBatchBuilder::new(BatchOptions {
        compression: Compression::Lz4,
        ..Default::default()
    });
    for (i, v) in values.iter().enumerate() {
        builder
            .append(1_700_000_000_000 + i as i64, Some(b"k"), Some(v), &[])
            .unwrap();
    }
    builder.finish(&Codecs::default()).unwrap()
}

pub fn produce(topic: &str, partition: i32, records: Bytes, acks: i16) -> m::ProduceRequest {
    m::ProduceRequest {
        acks,
        timeout_ms: 1000,
        topic_data: vec![m::produce_request::TopicProduceData {
            name: StrBytes::from_string(topic.to_string()),
            partition_data: vec![m::produce_request::PartitionProduceData {
                index: partition,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn fetch(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> m::FetchRequest {
    m::FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![m::fetch_request::FetchTopic {
            topic: StrBytes::from_string(topic.to_string()),
            partitions: vec![m::fetch_request::FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The address of the broker leading `topic`/`partition`, from Metadata.
pub async fn leader_of(cluster: &MockCluster, topic: &str, partition: i32) -> std::net::SocketAddr {
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let metadata = client
        .call(
            &m::MetadataRequest {
                topics: Some(vec![m::metadata_request::MetadataRequestTopic {
                    name: Some(StrBytes::from_string(topic.to_string())),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            12,
        )
        .await;
    let leader = metadata.topics[0].partitions[partition as usize].leader_id;
    let broker = metadata
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .unwrap();
    format!("{}:{}", broker.host, broker.port).parse().unwrap()
}

/// The highest version both we and the broker support for `key`.
pub fn agreed(versions: &m::ApiVersionsResponse, key: krafka_protocol::ApiKey) -> i16 {
    let ours = key.supported_versions().unwrap();
    let theirs = versions
        .api_keys
        .iter()
        .find(|k| k.api_key == key.0)
        .unwrap();
    ours.max.min(theirs.max_version)
}

/// The suite run against both the mock and a real broker: negotiate versions, create a topic,
/// find its leader, produce, fetch it back, and list offsets. It asks only what both should
/// answer alike (tansu's known deviations, e.g. its high watermark, are not asserted).
pub async fn smoke(bootstrap: std::net::SocketAddr, topic: &str) {
    use krafka_protocol::ApiKey;
    let mut client = RawClient::connect(bootstrap).await;
    let versions = client.call(&m::ApiVersionsRequest::default(), 3).await;
    assert_eq!(versions.error_code, 0);
    let metadata_v = agreed(&versions, ApiKey::METADATA);
    let create_v = agreed(&versions, ApiKey::CREATE_TOPICS);
    let produce_v = agreed(&versions, ApiKey::PRODUCE);
    let fetch_v = agreed(&versions, ApiKey::FETCH).min(12);
    let offsets_v = agreed(&versions, ApiKey::LIST_OFFSETS);

    let created = client
        .call(
            &m::CreateTopicsRequest {
                topics: vec![m::create_topics_request::CreatableTopic {
                    name: StrBytes::from_string(topic.to_string()),
                    num_partitions: 3,
                    replication_factor: 1,
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
            create_v,
        )
        .await;
    assert_eq!(
        created.topics[0].error_code, 0,
        "create {topic}: {created:?}"
    );

    let metadata = client
        .call(
            &m::MetadataRequest {
                topics: Some(vec![m::metadata_request::MetadataRequestTopic {
                    name: Some(StrBytes::from_string(topic.to_string())),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            metadata_v,
        )
        .await;
    let described = &metadata.topics[0];
    assert_eq!(described.error_code, 0);
    assert_eq!(described.partitions.len(), 3);
    let leader = described.partitions[0].leader_id;
    let broker = metadata
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .expect("leader listed");
    let leader_addr = format!("{}:{}", broker.host, broker.port).parse().unwrap();
    let mut leader = RawClient::connect(leader_addr).await;

    let produced = leader
        .call(
            &produce(topic, 0, batch(&[b"one", b"two", b"three"]), -1),
            produce_v,
        )
        .await;
    let p = &produced.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0), "{produced:?}");

    let fetched = leader.call(&fetch(topic, 0, 0, 100), fetch_v).await;
    let partition = &fetched.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    let values: Vec<Vec<u8>> =
        krafka_protocol::records::RecordSet::new(partition.records.clone().unwrap_or_default())
            .records()
            .map(|r| r.unwrap().value().unwrap().to_vec())
            .collect();
    assert_eq!(
        values,
        vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );

    let earliest = leader
        .call(
            &m::ListOffsetsRequest {
                replica_id: -1,
                topics: vec![m::list_offsets_request::ListOffsetsTopic {
                    name: StrBytes::from_string(topic.to_string()),
                    partitions: vec![m::list_offsets_request::ListOffsetsPartition {
                        partition_index: 0,
                        timestamp: -2,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            },
            offsets_v,
        )
        .await;
    let p = &earliest.topics[0].partitions[0];
    assert_eq!((p.error_code, p.offset), (0, 0));
}
