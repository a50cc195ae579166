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
