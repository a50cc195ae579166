//! Cross-implementation check against the independent `kafka-protocol` crate, which is also
//! generated from Kafka's schemas but by other people with another generator.
//!
//! For each API below, at every version both crates define, in both directions:
//! - ours → theirs: a value we generate at random is encoded by us, decoded by them, and
//!   re-encoded by them; the bytes must be identical (their decoder read every field as we
//!   meant it, or re-encoding would differ or fail), and decoding their bytes gives our value.
//! - theirs → ours: their default value (which carries the schemas' non-zero defaults) is
//!   encoded by them and decoded and re-encoded by us to the same bytes.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::{
    Decodable as TheirDecode, Encodable as TheirEncode, Message as TheirMessage,
};
use krafka_protocol::Message;
use krafka_protocol::codec::ArbitraryMessage;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn shared_versions<Ours: Message, Theirs: TheirMessage>() -> impl Iterator<Item = i16> {
    let min = Ours::VERSIONS.min.max(Theirs::VERSIONS.min);
    let max = Ours::VERSIONS.max.min(Theirs::VERSIONS.max);
    min..=max
}

fn ours_to_theirs<Ours, Theirs>(value: &Ours, version: i16) -> Result<(), TestCaseError>
where
    Ours: Message,
    Theirs: TheirEncode + TheirDecode,
{
    let ours = value
        .encode_to_bytes(version)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut input = ours.clone();
    let theirs = Theirs::decode(&mut input, version).map_err(|e| {
        TestCaseError::fail(format!(
            "{} v{version}: they cannot decode ours: {e}",
            Ours::NAME
        ))
    })?;
    if !input.is_empty() {
        return Err(TestCaseError::fail(format!(
            "{} v{version}: they left bytes",
            Ours::NAME
        )));
    }
    let mut again = BytesMut::new();
    theirs.encode(&mut again, version).map_err(|e| {
        TestCaseError::fail(format!(
            "{} v{version}: they cannot re-encode: {e}",
            Ours::NAME
        ))
    })?;
    if again.freeze() != ours {
        return Err(TestCaseError::fail(format!(
            "{} v{version}: their re-encoding differs",
            Ours::NAME
        )));
    }
    Ok(())
}

fn theirs_to_ours<Ours, Theirs>(version: i16)
where
    Ours: Message,
    Theirs: TheirEncode + Default,
{
    let mut buf = BytesMut::new();
    Theirs::default()
        .encode(&mut buf, version)
        .expect("they encode their default");
    let theirs = buf.freeze();
    let mut input: Bytes = theirs.clone();
    let ours = Ours::decode(&mut input, version)
        .unwrap_or_else(|e| panic!("{} v{version}: we cannot decode theirs: {e}", Ours::NAME));
    assert!(input.is_empty(), "{} v{version}: we left bytes", Ours::NAME);
    let again = ours.encode_to_bytes(version).expect("we re-encode");
    assert_eq!(
        again,
        theirs,
        "{} v{version}: our re-encoding differs",
        Ours::NAME
    );
}

fn check<Ours, Theirs>()
where
    Ours: Message + ArbitraryMessage,
    Theirs: TheirMessage + TheirEncode + TheirDecode + Default,
{
    let mut versions = 0;
    for version in shared_versions::<Ours, Theirs>() {
        versions += 1;
        let mut runner = TestRunner::new(Config {
            cases: 32,
            ..Config::default()
        });
        runner
            .run(&Ours::arbitrary(version), |v| {
                ours_to_theirs::<Ours, Theirs>(&v, version)
            })
            .unwrap_or_else(|e| panic!("{} v{version}: {e}", Ours::NAME));
        theirs_to_ours::<Ours, Theirs>(version);
    }
    assert!(versions > 0, "{}: no version in common", Ours::NAME);
}

macro_rules! cross {
    ($($test:ident: $ours:ident = $theirs:ident;)*) => {
        $(
            #[test]
            fn $test() {
                check::<krafka_protocol::messages::$ours, kafka_protocol::messages::$theirs>();
            }
        )*
    };
}

cross! {
    api_versions_request: ApiVersionsRequest = ApiVersionsRequest;
    api_versions_response: ApiVersionsResponse = ApiVersionsResponse;
    metadata_request: MetadataRequest = MetadataRequest;
    metadata_response: MetadataResponse = MetadataResponse;
    produce_request: ProduceRequest = ProduceRequest;
    produce_response: ProduceResponse = ProduceResponse;
    fetch_request: FetchRequest = FetchRequest;
    fetch_response: FetchResponse = FetchResponse;
    list_offsets_request: ListOffsetsRequest = ListOffsetsRequest;
    list_offsets_response: ListOffsetsResponse = ListOffsetsResponse;
    find_coordinator_request: FindCoordinatorRequest = FindCoordinatorRequest;
    find_coordinator_response: FindCoordinatorResponse = FindCoordinatorResponse;
    join_group_request: JoinGroupRequest = JoinGroupRequest;
    join_group_response: JoinGroupResponse = JoinGroupResponse;
    sync_group_request: SyncGroupRequest = SyncGroupRequest;
    sync_group_response: SyncGroupResponse = SyncGroupResponse;
    heartbeat_request: HeartbeatRequest = HeartbeatRequest;
    heartbeat_response: HeartbeatResponse = HeartbeatResponse;
    offset_commit_request: OffsetCommitRequest = OffsetCommitRequest;
    offset_commit_response: OffsetCommitResponse = OffsetCommitResponse;
    offset_fetch_request: OffsetFetchRequest = OffsetFetchRequest;
    offset_fetch_response: OffsetFetchResponse = OffsetFetchResponse;
    init_producer_id_request: InitProducerIdRequest = InitProducerIdRequest;
    init_producer_id_response: InitProducerIdResponse = InitProducerIdResponse;
    create_topics_request: CreateTopicsRequest = CreateTopicsRequest;
    create_topics_response: CreateTopicsResponse = CreateTopicsResponse;
    request_header: RequestHeader = RequestHeader;
    response_header: ResponseHeader = ResponseHeader;
}

/// Value-level checks: they build a message with a distinct value in every field, encode it, and
/// we read each field back by name. Byte-level agreement alone would not notice two fields of
/// the same type swapped consistently in both our encoder and decoder; this does.
mod by_value {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages as theirs;
    use kafka_protocol::protocol::{Encodable, StrBytes as S};
    use krafka_protocol::Decode;
    use krafka_protocol::messages as ours;

    fn via_theirs<T: Encodable, O: Decode>(value: &T, version: i16) -> O {
        let mut buf = BytesMut::new();
        value.encode(&mut buf, version).expect("they encode");
        let mut bytes = buf.freeze();
        let decoded = O::decode(&mut bytes, version).expect("we decode");
        assert!(bytes.is_empty(), "bytes left over");
        decoded
    }

    fn s(text: &'static str) -> S {
        S::from_static_str(text)
    }

    #[test]
    fn fetch_request_v12() {
        let t = theirs::FetchRequest::default()
            .with_replica_id(theirs::BrokerId(-1))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_isolation_level(1)
            .with_session_id(11)
            .with_session_epoch(3)
            .with_topics(vec![
                theirs::fetch_request::FetchTopic::default()
                    .with_topic(theirs::TopicName(s("orders")))
                    .with_partitions(vec![
                        theirs::fetch_request::FetchPartition::default()
                            .with_partition(2)
                            .with_current_leader_epoch(4)
                            .with_fetch_offset(100)
                            .with_last_fetched_epoch(3)
                            .with_log_start_offset(-1)
                            .with_partition_max_bytes(1_048_576),
                    ]),
            ])
            .with_forgotten_topics_data(vec![
                theirs::fetch_request::ForgottenTopic::default()
                    .with_topic(theirs::TopicName(s("old")))
                    .with_partitions(vec![5, 6]),
            ])
            .with_rack_id(s("r1"));
        let o: ours::FetchRequest = via_theirs(&t, 12);
        assert_eq!(
            (o.replica_id, o.max_wait_ms, o.min_bytes, o.max_bytes),
            (-1, 500, 1, 52_428_800)
        );
        assert_eq!(
            (o.isolation_level, o.session_id, o.session_epoch),
            (1, 11, 3)
        );
        let p = &o.topics[0].partitions[0];
        assert_eq!(o.topics[0].topic, "orders");
        assert_eq!(
            (p.partition, p.current_leader_epoch, p.fetch_offset),
            (2, 4, 100)
        );
        assert_eq!(
            (
                p.last_fetched_epoch,
                p.log_start_offset,
                p.partition_max_bytes
            ),
            (3, -1, 1_048_576)
        );
        assert_eq!(o.forgotten_topics_data[0].topic, "old");
        assert_eq!(o.forgotten_topics_data[0].partitions, vec![5, 6]);
        assert_eq!(o.rack_id, "r1");
    }

    #[test]
    fn produce_request_v9() {
        let t = theirs::ProduceRequest::default()
            .with_transactional_id(Some(theirs::TransactionalId(s("tx"))))
            .with_acks(-1)
            .with_timeout_ms(1500)
            .with_topic_data(vec![
                theirs::produce_request::TopicProduceData::default()
                    .with_name(theirs::TopicName(s("orders")))
                    .with_partition_data(vec![
                        theirs::produce_request::PartitionProduceData::default()
                            .with_index(3)
                            .with_records(Some(Bytes::from_static(b"xyz"))),
                    ]),
            ]);
        let o: ours::ProduceRequest = via_theirs(&t, 9);
        assert_eq!(o.transactional_id.as_deref(), Some("tx"));
        assert_eq!((o.acks, o.timeout_ms), (-1, 1500));
        assert_eq!(o.topic_data[0].name, "orders");
        assert_eq!(o.topic_data[0].partition_data[0].index, 3);
        assert_eq!(
            o.topic_data[0].partition_data[0].records.as_deref(),
            Some(&b"xyz"[..])
        );
    }

    #[test]
    fn metadata_response_v12() {
        let t = theirs::MetadataResponse::default()
            .with_throttle_time_ms(9)
            .with_brokers(vec![
                theirs::metadata_response::MetadataResponseBroker::default()
                    .with_node_id(theirs::BrokerId(1))
                    .with_host(s("h"))
                    .with_port(9092)
                    .with_rack(Some(s("r"))),
            ])
            .with_cluster_id(Some(s("c")))
            .with_controller_id(theirs::BrokerId(2))
            .with_topics(vec![
                theirs::metadata_response::MetadataResponseTopic::default()
                    .with_error_code(3)
                    .with_name(Some(theirs::TopicName(s("t"))))
                    .with_is_internal(true)
                    .with_partitions(vec![
                        theirs::metadata_response::MetadataResponsePartition::default()
                            .with_error_code(10)
                            .with_partition_index(4)
                            .with_leader_id(theirs::BrokerId(5))
                            .with_leader_epoch(6)
                            .with_replica_nodes(vec![theirs::BrokerId(5), theirs::BrokerId(7)])
                            .with_isr_nodes(vec![theirs::BrokerId(5)])
                            .with_offline_replicas(vec![theirs::BrokerId(7)]),
                    ])
                    .with_topic_authorized_operations(8),
            ]);
        let o: ours::MetadataResponse = via_theirs(&t, 12);
        assert_eq!((o.throttle_time_ms, o.controller_id), (9, 2));
        let b = &o.brokers[0];
        assert_eq!(
            (b.node_id, b.host.as_str(), b.port, b.rack.as_deref()),
            (1, "h", 9092, Some("r"))
        );
        assert_eq!(o.cluster_id.as_deref(), Some("c"));
        let topic = &o.topics[0];
        assert_eq!(
            (topic.error_code, topic.name.as_deref(), topic.is_internal),
            (3, Some("t"), true)
        );
        assert_eq!(topic.topic_authorized_operations, 8);
        let p = &topic.partitions[0];
        assert_eq!(
            (p.error_code, p.partition_index, p.leader_id, p.leader_epoch),
            (10, 4, 5, 6)
        );
        assert_eq!(
            (
                p.replica_nodes.clone(),
                p.isr_nodes.clone(),
                p.offline_replicas.clone()
            ),
            (vec![5, 7], vec![5], vec![7])
        );
    }

    #[test]
    fn join_group_request_v9() {
        let t = theirs::JoinGroupRequest::default()
            .with_group_id(theirs::GroupId(s("g")))
            .with_session_timeout_ms(10)
            .with_rebalance_timeout_ms(20)
            .with_member_id(s("m"))
            .with_group_instance_id(Some(s("i")))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![
                theirs::join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"md")),
            ])
            .with_reason(Some(s("why")));
        let o: ours::JoinGroupRequest = via_theirs(&t, 9);
        assert_eq!((o.group_id.as_str(), o.member_id.as_str()), ("g", "m"));
        assert_eq!((o.session_timeout_ms, o.rebalance_timeout_ms), (10, 20));
        assert_eq!(
            (o.group_instance_id.as_deref(), o.reason.as_deref()),
            (Some("i"), Some("why"))
        );
        assert_eq!(o.protocol_type, "consumer");
        assert_eq!(o.protocols[0].name, "range");
        assert_eq!(o.protocols[0].metadata.as_ref(), b"md");
    }

    #[test]
    fn offset_commit_request_v8() {
        let t = theirs::OffsetCommitRequest::default()
            .with_group_id(theirs::GroupId(s("g")))
            .with_generation_id_or_member_epoch(3)
            .with_member_id(s("m"))
            .with_group_instance_id(Some(s("i")))
            .with_topics(vec![
                theirs::offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(theirs::TopicName(s("t")))
                    .with_partitions(vec![
                        theirs::offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(1)
                            .with_committed_offset(100)
                            .with_committed_leader_epoch(2)
                            .with_committed_metadata(Some(s("md"))),
                    ]),
            ]);
        let o: ours::OffsetCommitRequest = via_theirs(&t, 8);
        assert_eq!(
            (
                o.group_id.as_str(),
                o.generation_id_or_member_epoch,
                o.member_id.as_str()
            ),
            ("g", 3, "m")
        );
        let p = &o.topics[0].partitions[0];
        assert_eq!(o.topics[0].name, "t");
        assert_eq!(
            (
                p.partition_index,
                p.committed_offset,
                p.committed_leader_epoch
            ),
            (1, 100, 2)
        );
        assert_eq!(p.committed_metadata.as_deref(), Some("md"));
    }

    #[test]
    fn init_producer_id_response_v4_and_list_offsets_request_v7() {
        let t = theirs::InitProducerIdResponse::default()
            .with_throttle_time_ms(1)
            .with_error_code(2)
            .with_producer_id(theirs::ProducerId(1234))
            .with_producer_epoch(5);
        let o: ours::InitProducerIdResponse = via_theirs(&t, 4);
        assert_eq!(
            (
                o.throttle_time_ms,
                o.error_code,
                o.producer_id,
                o.producer_epoch
            ),
            (1, 2, 1234, 5)
        );

        let t = theirs::ListOffsetsRequest::default()
            .with_replica_id(theirs::BrokerId(-1))
            .with_isolation_level(1)
            .with_topics(vec![
                theirs::list_offsets_request::ListOffsetsTopic::default()
                    .with_name(theirs::TopicName(s("t")))
                    .with_partitions(vec![
                        theirs::list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(7)
                            .with_current_leader_epoch(8)
                            .with_timestamp(-2),
                    ]),
            ]);
        let o: ours::ListOffsetsRequest = via_theirs(&t, 7);
        assert_eq!((o.replica_id, o.isolation_level), (-1, 1));
        let p = &o.topics[0].partitions[0];
        assert_eq!(
            (p.partition_index, p.current_leader_epoch, p.timestamp),
            (7, 8, -2)
        );
    }
}
