//! Group coordination without membership yet: FindCoordinator and committed offsets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use krafka_mock::MockCluster;
use krafka_protocol::messages as m;
use krafka_protocol::{ErrorCode, StrBytes};
use support::RawClient;

async fn coordinator(client: &mut RawClient, group: &str) -> (i32, std::net::SocketAddr) {
    let response = client
        .call(
            &m::FindCoordinatorRequest {
                key: StrBytes::from_string(group.to_string()),
                key_type: 0,
                ..Default::default()
            },
            3,
        )
        .await;
    assert_eq!(response.error_code, 0);
    (
        response.node_id,
        format!("{}:{}", response.host, response.port)
            .parse()
            .unwrap(),
    )
}

fn commit(
    group: &str,
    generation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
) -> m::OffsetCommitRequest {
    m::OffsetCommitRequest {
        group_id: StrBytes::from_string(group.to_string()),
        generation_id_or_member_epoch: generation,
        member_id: StrBytes::new(),
        topics: vec![m::offset_commit_request::OffsetCommitRequestTopic {
            name: StrBytes::from_string(topic.to_string()),
            partitions: vec![m::offset_commit_request::OffsetCommitRequestPartition {
                partition_index: partition,
                committed_offset: offset,
                committed_leader_epoch: 2,
                committed_metadata: Some("meta".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn commit_error(response: &m::OffsetCommitResponse) -> i16 {
    response.topics[0].partitions[0].error_code
}

#[tokio::test]
async fn coordinators_are_stable_batched_and_can_be_pinned() {
    let cluster = MockCluster::builder().brokers(3).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let (first, _) = coordinator(&mut client, "g").await;
    assert_eq!(coordinator(&mut client, "g").await.0, first, "stable");
    let batched = client
        .call(
            &m::FindCoordinatorRequest {
                key_type: 0,
                coordinator_keys: vec!["g".into(), "other".into()],
                ..Default::default()
            },
            4,
        )
        .await;
    assert_eq!(batched.coordinators.len(), 2);
    assert_eq!(batched.coordinators[0].node_id, first);
    let moved = if first == 3 { 1 } else { first + 1 };
    cluster.set_coordinator("g", moved);
    assert_eq!(coordinator(&mut client, "g").await.0, moved);
    cluster.shutdown().await;
}

#[tokio::test]
async fn simple_commits_are_stored_and_fetched_by_the_coordinator_only() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let mut any = RawClient::connect(cluster.broker_addrs()[0]).await;
    let (_, addr) = coordinator(&mut any, "g").await;
    let other = *cluster.broker_addrs().iter().find(|a| **a != addr).unwrap();

    let mut wrong = RawClient::connect(other).await;
    assert_eq!(
        commit_error(&wrong.call(&commit("g", -1, "t", 0, 5), 8).await),
        ErrorCode::NOT_COORDINATOR.0
    );

    let mut coord = RawClient::connect(addr).await;
    assert_eq!(
        commit_error(&coord.call(&commit("g", -1, "t", 1, 42), 8).await),
        0
    );
    let stored = cluster.committed("g", "t", 1).unwrap();
    assert_eq!(
        (stored.offset, stored.leader_epoch, stored.metadata.as_str()),
        (42, 2, "meta")
    );
    // No members yet: a commit from a generation is from a member the group does not know.
    assert_eq!(
        commit_error(&coord.call(&commit("g", 3, "t", 1, 43), 8).await),
        ErrorCode::UNKNOWN_MEMBER_ID.0
    );
    assert_eq!(
        commit_error(&coord.call(&commit("g", -1, "missing", 0, 1), 8).await),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );

    let fetched = coord
        .call(
            &m::OffsetFetchRequest {
                group_id: "g".into(),
                topics: Some(vec![m::offset_fetch_request::OffsetFetchRequestTopic {
                    name: "t".into(),
                    partition_indexes: vec![0, 1],
                    ..Default::default()
                }]),
                ..Default::default()
            },
            7,
        )
        .await;
    let offsets: Vec<i64> = fetched.topics[0]
        .partitions
        .iter()
        .map(|p| p.committed_offset)
        .collect();
    assert_eq!(offsets, vec![-1, 42], "-1 for a partition never committed");

    let batched = coord
        .call(
            &m::OffsetFetchRequest {
                groups: vec![m::offset_fetch_request::OffsetFetchRequestGroup {
                    group_id: "g".into(),
                    topics: None,
                    ..Default::default()
                }],
                ..Default::default()
            },
            8,
        )
        .await;
    let group = &batched.groups[0];
    assert_eq!(group.error_code, 0);
    assert_eq!(
        group.topics[0].partitions[0].committed_offset, 42,
        "all committed partitions"
    );
    let elsewhere = wrong
        .call(
            &m::OffsetFetchRequest {
                group_id: "g".into(),
                topics: None,
                ..Default::default()
            },
            7,
        )
        .await;
    assert_eq!(elsewhere.error_code, ErrorCode::NOT_COORDINATOR.0);
    cluster.shutdown().await;
}
