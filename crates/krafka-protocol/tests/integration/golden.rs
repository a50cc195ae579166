//! Golden bytes: a handful of messages whose wire form was written out by hand from Kafka's
//! protocol guide (https://kafka.apache.org/protocol), byte by byte with a comment for each
//! field. Encoding must produce exactly these bytes and decoding them must give the value back.
//! Unlike the generated round trips, these catch a generator that is consistently wrong on both
//! sides.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use krafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, FetchResponse, JoinGroupRequest, ListOffsetsRequest,
    MetadataResponse, ProduceRequest,
};
use krafka_protocol::messages::{
    api_versions_response, fetch_response, join_group_request, list_offsets_request,
    metadata_response, produce_request,
};
use krafka_protocol::{Encode, Message, StrBytes, Uuid};

fn check<M: Message>(value: &M, version: i16, expected: &[u8]) {
    let encoded = value.encode_to_bytes(version).expect("encode");
    assert_eq!(
        encoded.as_ref(),
        expected,
        "{} v{version}: encoded bytes differ from the golden bytes",
        M::NAME
    );
    let mut input = Bytes::copy_from_slice(expected);
    let decoded = M::decode(&mut input, version).expect("decode");
    assert!(input.is_empty(), "{} v{version}: bytes left over", M::NAME);
    assert_eq!(
        &decoded,
        value,
        "{} v{version}: decoded value differs",
        M::NAME
    );
}

/// Concatenates byte pieces so each field of a golden message stands on its own line.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn api_versions_request_v3() {
    let value = ApiVersionsRequest {
        client_software_name: "krafka".into(),
        client_software_version: "0.1.0".into(),
        ..Default::default()
    };
    let expected = cat(&[
        &[0x07],   // client software name: compact string, length 6 + 1
        b"krafka", //
        &[0x06],   // client software version: length 5 + 1
        b"0.1.0",  //
        &[0x00],   // no tagged fields
    ]);
    check(&value, 3, &expected);
}

#[test]
fn api_versions_response_v3_with_a_tagged_field() {
    use api_versions_response::ApiVersion;
    let value = ApiVersionsResponse {
        error_code: 0,
        api_keys: vec![
            ApiVersion {
                api_key: 0,
                min_version: 0,
                max_version: 11,
                ..Default::default()
            },
            ApiVersion {
                api_key: 18,
                min_version: 0,
                max_version: 4,
                ..Default::default()
            },
        ],
        throttle_time_ms: 0,
        zk_migration_ready: true,
        ..Default::default()
    };
    let expected = cat(&[
        &[0x00, 0x00],                               // error code 0
        &[0x03],                                     // api keys: compact array, 2 + 1
        &[0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00], // Produce 0..=11, no tagged fields
        &[0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00], // ApiVersions 0..=4, no tagged fields
        &[0x00, 0x00, 0x00, 0x00],                   // throttle time 0
        &[0x01],                                     // one tagged field:
        &[0x03, 0x01, 0x01],                         //   tag 3 (ZkMigrationReady), size 1, true
    ]);
    check(&value, 3, &expected);
}

#[test]
fn metadata_response_v12() {
    use metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    let value = MetadataResponse {
        throttle_time_ms: 0,
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: None,
            ..Default::default()
        }],
        cluster_id: Some("c1".into()),
        controller_id: 1,
        topics: vec![MetadataResponseTopic {
            error_code: 0,
            name: Some("orders".into()),
            topic_id: Uuid::from_u128(1),
            is_internal: false,
            partitions: vec![MetadataResponsePartition {
                error_code: 0,
                partition_index: 0,
                leader_id: 1,
                leader_epoch: 5,
                replica_nodes: vec![1],
                isr_nodes: vec![1],
                offline_replicas: vec![],
                ..Default::default()
            }],
            topic_authorized_operations: i32::MIN,
            ..Default::default()
        }],
        ..Default::default()
    };
    let expected = cat(&[
        &[0, 0, 0, 0],             // throttle time
        &[0x02],                   // brokers: 1 + 1
        &[0, 0, 0, 1],             //   node id 1
        &[0x0a],                   //   host: 9 + 1
        b"127.0.0.1",              //
        &[0x00, 0x00, 0x23, 0x84], // port 9092
        &[0x00],                   //   rack: null
        &[0x00],                   //   no tagged fields
        &[0x03],                   // cluster id: 2 + 1
        b"c1",                     //
        &[0, 0, 0, 1],             // controller id 1
        &[0x02],                   // topics: 1 + 1
        &[0x00, 0x00],             //   error code
        &[0x07],                   //   name: 6 + 1
        b"orders",                 //
        &[0; 15],                  //   topic id ...
        &[0x01],                   //   ... = 1
        &[0x00],                   //   is internal: false
        &[0x02],                   //   partitions: 1 + 1
        &[0x00, 0x00],             //     error code
        &[0, 0, 0, 0],             //     partition 0
        &[0, 0, 0, 1],             //     leader 1
        &[0, 0, 0, 5],             //     leader epoch 5
        &[0x02, 0, 0, 0, 1],       //     replicas [1]
        &[0x02, 0, 0, 0, 1],       //     isr [1]
        &[0x01],                   //     offline replicas []
        &[0x00],                   //     no tagged fields
        &[0x80, 0x00, 0x00, 0x00], // topic authorized operations: i32::MIN (not requested)
        &[0x00],                   //   no tagged fields
        &[0x00],                   // no tagged fields
    ]);
    check(&value, 12, &expected);
}

#[test]
fn produce_request_v9() {
    use produce_request::{PartitionProduceData, TopicProduceData};
    let value = ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: "orders".into(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                // Opaque at this layer: the record batch codec is tested on its own.
                records: Some(Bytes::from_static(&[1, 2, 3])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let expected = cat(&[
        &[0x00],                   // transactional id: null
        &[0xff, 0xff],             // acks -1 (all)
        &[0x00, 0x00, 0x75, 0x30], // timeout 30000 ms
        &[0x02],                   // topics: 1 + 1
        &[0x07],                   //   name: 6 + 1
        b"orders",                 //
        &[0x02],                   //   partitions: 1 + 1
        &[0, 0, 0, 0],             //     index 0
        &[0x04, 1, 2, 3],          //     records: compact bytes, 3 + 1
        &[0x00],                   //     no tagged fields
        &[0x00],                   //   no tagged fields
        &[0x00],                   // no tagged fields
    ]);
    check(&value, 9, &expected);
}

#[test]
fn fetch_response_v12_with_a_tagged_struct() {
    use fetch_response::{FetchableTopicResponse, LeaderIdAndEpoch, PartitionData};
    let value = FetchResponse {
        throttle_time_ms: 0,
        error_code: 0,
        session_id: 7,
        responses: vec![FetchableTopicResponse {
            topic: "orders".into(),
            partitions: vec![PartitionData {
                partition_index: 0,
                error_code: 0,
                high_watermark: 10,
                last_stable_offset: 10,
                log_start_offset: 0,
                current_leader: LeaderIdAndEpoch {
                    leader_id: 1,
                    leader_epoch: 5,
                    ..Default::default()
                },
                aborted_transactions: None,
                preferred_read_replica: -1,
                records: Some(Bytes::from_static(b"abc")),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let expected = cat(&[
        &[0, 0, 0, 0],                   // throttle time
        &[0x00, 0x00],                   // error code
        &[0, 0, 0, 7],                   // session id 7
        &[0x02],                         // responses: 1 + 1
        &[0x07],                         //   topic: 6 + 1
        b"orders",                       //
        &[0x02],                         //   partitions: 1 + 1
        &[0, 0, 0, 0],                   //     partition 0
        &[0x00, 0x00],                   //     error code
        &[0, 0, 0, 0, 0, 0, 0, 10],      //    high watermark 10
        &[0, 0, 0, 0, 0, 0, 0, 10],      //    last stable offset 10
        &[0, 0, 0, 0, 0, 0, 0, 0],       //     log start offset 0
        &[0x00],                         //     aborted transactions: null
        &[0xff, 0xff, 0xff, 0xff],       //     preferred read replica -1
        &[0x04],                         //     records: 3 + 1
        b"abc",                          //
        &[0x01],                         //     one tagged field:
        &[0x01, 0x09],                   //       tag 1 (CurrentLeader), size 9
        &[0, 0, 0, 1, 0, 0, 0, 5, 0x00], //  leader 1, epoch 5, no tagged fields
        &[0x00],                         //   no tagged fields
        &[0x00],                         // no tagged fields
    ]);
    check(&value, 12, &expected);
}

#[test]
fn list_offsets_request_v7() {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let value = ListOffsetsRequest {
        replica_id: -1,
        isolation_level: 1,
        topics: vec![ListOffsetsTopic {
            name: "orders".into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 3,
                current_leader_epoch: -1,
                timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let expected = cat(&[
        &[0xff, 0xff, 0xff, 0xff], // replica id -1 (a consumer)
        &[0x01],                   // isolation level: read committed
        &[0x02],                   // topics: 1 + 1
        &[0x07],                   //   name: 6 + 1
        b"orders",                 //
        &[0x02],                   //   partitions: 1 + 1
        &[0, 0, 0, 3],             //     partition 3
        &[0xff, 0xff, 0xff, 0xff], //     current leader epoch -1
        &[0xff; 8],                //     timestamp -1 (latest)
        &[0x00],                   //     no tagged fields
        &[0x00],                   //   no tagged fields
        &[0x00],                   // no tagged fields
    ]);
    check(&value, 7, &expected);
}

#[test]
fn join_group_request_v9() {
    use join_group_request::JoinGroupRequestProtocol;
    let value = JoinGroupRequest {
        group_id: "g".into(),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        member_id: StrBytes::new(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".into(),
            metadata: Bytes::from_static(&[0, 1]),
            ..Default::default()
        }],
        reason: Some("joining".into()),
        ..Default::default()
    };
    let expected = cat(&[
        &[0x02],                   // group id: 1 + 1
        b"g",                      //
        &[0x00, 0x00, 0xaf, 0xc8], // session timeout 45000 ms
        &[0x00, 0x04, 0x93, 0xe0], // rebalance timeout 300000 ms
        &[0x01],                   // member id: empty (0 + 1)
        &[0x00],                   // group instance id: null
        &[0x09],                   // protocol type: 8 + 1
        b"consumer",               //
        &[0x02],                   // protocols: 1 + 1
        &[0x06],                   //   name: 5 + 1
        b"range",                  //
        &[0x03, 0x00, 0x01],       //   metadata: compact bytes, 2 + 1
        &[0x00],                   //   no tagged fields
        &[0x08],                   // reason: 7 + 1
        b"joining",                //
        &[0x00],                   // no tagged fields
    ]);
    check(&value, 9, &expected);
}

#[test]
fn a_value_a_version_cannot_carry_is_an_error_not_a_silent_loss() {
    // JoinGroup's GroupInstanceId exists from v5 and is not ignorable: refusing is the only
    // honest answer, since dropping it would silently turn a static member into a dynamic one.
    let value = JoinGroupRequest {
        group_instance_id: Some("instance-1".into()),
        ..Default::default()
    };
    assert!(matches!(
        value.encode_to_bytes(4),
        Err(krafka_protocol::EncodeError::FieldNotSupported {
            field: "GroupInstanceId",
            version: 4,
            ..
        })
    ));
    // Its Reason (v8+) is marked ignorable in the schema: like Kafka, we drop it for older
    // versions rather than fail the join.
    let value = JoinGroupRequest {
        reason: Some("why".into()),
        ..Default::default()
    };
    assert!(value.encode_to_bytes(7).is_ok());
    // A null where the version has no nulls is refused too (Metadata topic names are nullable
    // only from v12 on).
    let value = MetadataResponse {
        topics: vec![metadata_response::MetadataResponseTopic {
            name: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches!(
        value.encode_to_bytes(11),
        Err(krafka_protocol::EncodeError::NullNotAllowed { field: "Name", .. })
    ));
    assert!(value.encode_to_bytes(12).is_ok());
}
