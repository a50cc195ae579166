//! The mock cluster over real TCP, driven by raw protocol frames (the mock must work for
//! clients that share none of its code).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use crate::support;

use bytes::BytesMut;
use krafka_mock::MockCluster;
use krafka_protocol::header::{decode_response_body, decode_response_header};
use krafka_protocol::messages as m;
use krafka_protocol::records::RecordSet;
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};
use support::{RawClient, batch, fetch, leader_of, produce};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn api_versions_and_the_kip_511_fallback() {
    let cluster = MockCluster::builder().start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let response = client.call(&m::ApiVersionsRequest::default(), 3).await;
    assert_eq!(response.error_code, 0);
    let fetch = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::FETCH.0)
        .unwrap();
    assert_eq!((fetch.min_version, fetch.max_version), (4, 17));

    // A version the broker does not know: a v0 answer with UNSUPPORTED_VERSION and the list.
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&[0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff]);
    client.stream.write_all(&frame).await.unwrap();
    let mut body = client.recv_frame().await;
    let header = decode_response_header(&mut body, ApiKey::API_VERSIONS, 0).unwrap();
    assert_eq!(header.correlation_id, 7);
    let fallback = decode_response_body::<m::ApiVersionsResponse>(body, 0).unwrap();
    assert_eq!(fallback.error_code, ErrorCode::UNSUPPORTED_VERSION.0);
    assert_eq!(fallback.api_keys.len(), response.api_keys.len());
    cluster.shutdown().await;
}

#[tokio::test]
async fn metadata_spreads_leaders_and_reports_topic_ids() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("orders", 8)
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[1]).await;
    let all = client
        .call(
            &m::MetadataRequest {
                topics: None,
                ..Default::default()
            },
            12,
        )
        .await;
    assert_eq!(all.brokers.len(), 3);
    assert_eq!(all.controller_id, 1);
    assert_eq!(all.cluster_id.as_deref(), Some("krafka-mock"));
    let orders = &all.topics[0];
    assert_eq!(orders.name.as_deref(), Some("orders"));
    assert_ne!(orders.topic_id, krafka_protocol::Uuid::ZERO);
    let leaders: std::collections::BTreeSet<i32> =
        orders.partitions.iter().map(|p| p.leader_id).collect();
    assert_eq!(leaders.len(), 3, "leaders spread over every broker");

    let unknown = m::MetadataRequest {
        topics: Some(vec![m::metadata_request::MetadataRequestTopic {
            name: Some("missing".into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: true,
        ..Default::default()
    };
    let response = client.call(&unknown, 9).await;
    assert_eq!(
        response.topics[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn auto_creation_and_create_topics() {
    let cluster = MockCluster::builder()
        .default_partitions(3)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let request = m::MetadataRequest {
        topics: Some(vec![m::metadata_request::MetadataRequestTopic {
            name: Some("auto".into()),
            ..Default::default()
        }]),
        allow_auto_topic_creation: true,
        ..Default::default()
    };
    let response = client.call(&request, 12).await;
    assert_eq!(response.topics[0].error_code, 0);
    assert_eq!(response.topics[0].partitions.len(), 3);

    let create =
        |name: &'static str, partitions: i32, validate_only: bool| m::CreateTopicsRequest {
            topics: vec![m::create_topics_request::CreatableTopic {
                name: name.into(),
                num_partitions: partitions,
                replication_factor: 1,
                ..Default::default()
            }],
            timeout_ms: 1000,
            validate_only,
            ..Default::default()
        };
    let dry = client.call(&create("dry", 2, true), 7).await;
    assert_eq!(dry.topics[0].error_code, 0);
    assert!(
        cluster.state().topic("dry").is_none(),
        "validate_only creates nothing"
    );
    let made = client.call(&create("made", 2, false), 7).await;
    assert_eq!(
        (made.topics[0].error_code, made.topics[0].num_partitions),
        (0, 2)
    );
    let again = client.call(&create("made", 2, false), 7).await;
    assert_eq!(
        again.topics[0].error_code,
        ErrorCode::TOPIC_ALREADY_EXISTS.0
    );
    let bad = client.call(&create("bad name!", 1, false), 7).await;
    assert_eq!(
        bad.topics[0].error_code,
        ErrorCode::INVALID_TOPIC_EXCEPTION.0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn produce_assigns_offsets_and_fetch_returns_the_batches() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let leader = leader_of(&cluster, "t", 1).await;
    let mut client = RawClient::connect(leader).await;
    let first = client
        .call(&produce("t", 1, batch(&[b"a", b"b", b"c"]), -1), 9)
        .await;
    let second = client.call(&produce("t", 1, batch(&[b"d"]), 1), 9).await;
    let p = &first.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    assert_eq!(second.responses[0].partition_responses[0].base_offset, 3);

    let response = client.call(&fetch("t", 1, 0, 0), 12).await;
    let partition = &response.responses[0].partitions[0];
    assert_eq!((partition.error_code, partition.high_watermark), (0, 4));
    let records: Vec<_> = RecordSet::new(partition.records.clone().unwrap())
        .records()
        .map(Result::unwrap)
        .collect();
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3]);
    assert_eq!(records[3].value(), Some(&b"d"[..]));

    // From the middle of the log: whole batches from the one holding the offset.
    let response = client.call(&fetch("t", 1, 3, 0), 12).await;
    let records = RecordSet::new(response.responses[0].partitions[0].records.clone().unwrap());
    assert_eq!(records.records().count(), 1);

    let out_of_range = client.call(&fetch("t", 1, 99, 0), 12).await;
    assert_eq!(
        out_of_range.responses[0].partitions[0].error_code,
        ErrorCode::OFFSET_OUT_OF_RANGE.0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn non_leaders_refuse_and_corrupt_batches_are_rejected() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 1)
        .start()
        .await
        .unwrap();
    let leader = leader_of(&cluster, "t", 0).await;
    let follower = *cluster
        .broker_addrs()
        .iter()
        .find(|a| **a != leader)
        .unwrap();
    let mut client = RawClient::connect(follower).await;
    let refused = client.call(&produce("t", 0, batch(&[b"x"]), -1), 9).await;
    assert_eq!(
        refused.responses[0].partition_responses[0].error_code,
        ErrorCode::NOT_LEADER_OR_FOLLOWER.0
    );
    let mut corrupt = BytesMut::from(&batch(&[b"x"])[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let mut client = RawClient::connect(leader).await;
    let rejected = client.call(&produce("t", 0, corrupt.freeze(), -1), 9).await;
    assert_eq!(
        rejected.responses[0].partition_responses[0].error_code,
        ErrorCode::CORRUPT_MESSAGE.0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn acks_zero_gets_no_response() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client.send(&produce("t", 0, batch(&[b"fire"]), 0), 9).await;
    // The next frame on the connection answers the next request, not the produce.
    let id = client.send(&m::ApiVersionsRequest::default(), 3).await;
    let (got, _) = client.recv::<m::ApiVersionsResponse>(3).await;
    assert_eq!(got, id);
    let stored = client.call(&fetch("t", 0, 0, 0), 12).await;
    assert!(
        !stored.responses[0].partitions[0]
            .records
            .as_ref()
            .unwrap()
            .is_empty()
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_waiting_fetch_is_woken_by_a_produce() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let addr = cluster.broker_addrs()[0];
    let waiter = tokio::spawn(async move {
        let mut client = RawClient::connect(addr).await;
        let started = Instant::now();
        let response = client.call(&fetch("t", 0, 0, 30_000), 12).await;
        (response, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut producer = RawClient::connect(addr).await;
    producer
        .call(&produce("t", 0, batch(&[b"wake"]), -1), 9)
        .await;
    let (response, waited) = waiter.await.unwrap();
    assert_eq!(response.responses[0].partitions[0].high_watermark, 1);
    // Woken by the append, not by the 30 s timeout.
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn list_offsets_earliest_latest_and_by_timestamp() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client
        .call(&produce("t", 0, batch(&[b"a", b"b"]), -1), 9)
        .await;
    client.call(&produce("t", 0, batch(&[b"c"]), -1), 9).await;
    let ask = |timestamp: i64| m::ListOffsetsRequest {
        replica_id: -1,
        topics: vec![m::list_offsets_request::ListOffsetsTopic {
            name: "t".into(),
            partitions: vec![m::list_offsets_request::ListOffsetsPartition {
                partition_index: 0,
                timestamp,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let offset = |r: &m::ListOffsetsResponse| r.topics[0].partitions[0].offset;
    assert_eq!(offset(&client.call(&ask(-2), 7).await), 0);
    assert_eq!(offset(&client.call(&ask(-1), 7).await), 3);
    // Max timestamp (v7+): the first batch's second record, at +1, is the latest.
    let latest_ts = client.call(&ask(-3), 7).await;
    assert_eq!(
        (
            offset(&latest_ts),
            latest_ts.topics[0].partitions[0].timestamp
        ),
        (1, 1_700_000_000_001)
    );
    // By timestamp: the first record (not batch) whose timestamp reaches it, as Kafka answers.
    assert_eq!(offset(&client.call(&ask(1_700_000_000_000), 7).await), 0);
    assert_eq!(offset(&client.call(&ask(1_700_000_000_001), 7).await), 1);
    assert_eq!(offset(&client.call(&ask(1_700_000_000_002), 7).await), -1);
    cluster.shutdown().await;
}

#[tokio::test]
async fn fetch_by_topic_id_from_v13() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let id = cluster.state().topic("t").unwrap().id;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client.call(&produce("t", 0, batch(&[b"v"]), -1), 11).await;
    let mut request = fetch("t", 0, 0, 0);
    request.topics[0].topic = StrBytes::new();
    request.topics[0].topic_id = id;
    let response = client.call(&request, 13).await;
    assert_eq!(response.responses[0].topic_id, id);
    assert_eq!(response.responses[0].partitions[0].high_watermark, 1);
    request.topics[0].topic_id = krafka_protocol::Uuid::from_u128(42);
    let unknown = client.call(&request, 13).await;
    assert_eq!(
        unknown.responses[0].partitions[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_ID.0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn the_smoke_suite_on_two_brokers() {
    let cluster = MockCluster::builder().brokers(2).start().await.unwrap();
    support::smoke(cluster.broker_addrs()[0], "smoke").await;
    cluster.shutdown().await;
}
