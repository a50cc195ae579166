//! Group coordination: FindCoordinator, committed offsets, the classic group protocol, and
//! how ListGroups and DescribeGroups report groups.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

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

fn join_request(member_id: &str) -> m::JoinGroupRequest {
    m::JoinGroupRequest {
        group_id: "g".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        member_id: StrBytes::from_string(member_id.to_string()),
        protocol_type: "consumer".into(),
        protocols: vec![m::join_group_request::JoinGroupRequestProtocol {
            name: "range".into(),
            metadata: bytes::Bytes::from_static(b"subscription"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Joins group "g" as a new member (two steps, KIP-394) and returns the held join's answer.
async fn join_new(client: &mut RawClient) -> m::JoinGroupResponse {
    let first = client.call(&join_request(""), 9).await;
    assert_eq!(first.error_code, ErrorCode::MEMBER_ID_REQUIRED.0);
    assert!(!first.member_id.is_empty());
    client.call(&join_request(&first.member_id), 9).await
}

fn sync_request(
    member: &str,
    generation: i32,
    assignments: &[(&str, &'static [u8])],
) -> m::SyncGroupRequest {
    m::SyncGroupRequest {
        group_id: "g".into(),
        generation_id: generation,
        member_id: StrBytes::from_string(member.to_string()),
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments: assignments
            .iter()
            .map(
                |(id, a)| m::sync_group_request::SyncGroupRequestAssignment {
                    member_id: StrBytes::from_string(id.to_string()),
                    assignment: bytes::Bytes::from_static(a),
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}

fn heartbeat(member: &str, generation: i32) -> m::HeartbeatRequest {
    m::HeartbeatRequest {
        group_id: "g".into(),
        generation_id: generation,
        member_id: StrBytes::from_string(member.to_string()),
        ..Default::default()
    }
}

#[tokio::test]
async fn two_members_join_rebalance_sync_commit_and_leave() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let mut any = RawClient::connect(cluster.broker_addrs()[0]).await;
    let (_, addr) = coordinator(&mut any, "g").await;
    let mut a = RawClient::connect(addr).await;

    // A alone: generation 1, leader of itself.
    let joined = join_new(&mut a).await;
    assert_eq!((joined.error_code, joined.generation_id), (0, 1));
    let a_id = joined.member_id.to_string();
    assert_eq!(joined.leader.as_str(), a_id);
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.members[0].metadata.as_ref(), b"subscription");
    let synced = a
        .call(&sync_request(&a_id, 1, &[(a_id.as_str(), b"all")]), 5)
        .await;
    assert_eq!(
        (synced.error_code, synced.assignment.as_ref()),
        (0, &b"all"[..])
    );

    // B joins: its join is held until A rejoins, which A learns from its heartbeat.
    let b_task = tokio::spawn(async move {
        let mut b = RawClient::connect(addr).await;
        let joined = join_new(&mut b).await;
        (b, joined)
    });
    let mut rebalancing = false;
    for _ in 0..100 {
        let hb = a.call(&heartbeat(&a_id, 1), 4).await;
        if hb.error_code == ErrorCode::REBALANCE_IN_PROGRESS.0 {
            rebalancing = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rebalancing, "A is told of the rebalance");
    let rejoined = a.call(&join_request(&a_id), 9).await;
    let (mut b, b_joined) = b_task.await.unwrap();
    assert_eq!((rejoined.generation_id, b_joined.generation_id), (2, 2));
    assert_eq!(rejoined.leader.as_str(), a_id, "the leader is kept");
    assert_eq!(rejoined.members.len(), 2, "the leader sees every member");
    assert!(b_joined.members.is_empty(), "followers do not");
    let b_id = b_joined.member_id.to_string();

    // B's sync waits for the leader's assignments.
    let b_sync = tokio::spawn(async move {
        let response = b.call(&sync_request(&b_id, 2, &[]), 5).await;
        (b, b_id, response)
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    a.call(
        &sync_request(&a_id, 2, &[(a_id.as_str(), b"p0"), ("", b"")]),
        5,
    )
    .await;
    let (mut b, b_id, b_synced) = b_sync.await.unwrap();
    assert_eq!(b_synced.error_code, 0);
    let a_again = a.call(&sync_request(&a_id, 2, &[]), 5).await;
    assert_eq!(a_again.assignment.as_ref(), b"p0");

    // Commits by generation.
    let commit_of = |member: &str, generation: i32| {
        let mut request = commit("g", generation, "t", 0, 7);
        request.member_id = StrBytes::from_string(member.to_string());
        request
    };
    assert_eq!(commit_error(&b.call(&commit_of(&b_id, 2), 8).await), 0);
    assert_eq!(
        commit_error(&b.call(&commit_of(&b_id, 1), 8).await),
        ErrorCode::ILLEGAL_GENERATION.0
    );
    assert_eq!(cluster.committed("g", "t", 0).unwrap().offset, 7);

    // B leaves: A is told to rebalance again.
    let left = b
        .call(
            &m::LeaveGroupRequest {
                group_id: "g".into(),
                members: vec![m::leave_group_request::MemberIdentity {
                    member_id: StrBytes::from_string(b_id.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            5,
        )
        .await;
    assert_eq!(left.members[0].error_code, 0);
    assert_eq!(cluster.group_members("g"), vec![a_id.clone()]);
    assert_eq!(
        a.call(&heartbeat(&a_id, 2), 4).await.error_code,
        ErrorCode::REBALANCE_IN_PROGRESS.0
    );
    let alone = a.call(&join_request(&a_id), 9).await;
    assert_eq!(alone.generation_id, 3);
    cluster.shutdown().await;
}

fn describe(group: &str) -> m::DescribeGroupsRequest {
    m::DescribeGroupsRequest {
        groups: vec![StrBytes::from_string(group.to_string())],
        ..Default::default()
    }
}

#[tokio::test]
async fn describe_groups_reports_members_once_stable_and_only_at_the_coordinator() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let mut any = RawClient::connect(cluster.broker_addrs()[0]).await;
    let (_, addr) = coordinator(&mut any, "g").await;
    let other = cluster
        .broker_addrs()
        .iter()
        .copied()
        .find(|a| *a != addr)
        .unwrap();
    let mut elsewhere = RawClient::connect(other).await;
    let refused = elsewhere.call(&describe("g"), 5).await;
    assert_eq!(refused.groups[0].error_code, ErrorCode::NOT_COORDINATOR.0);
    let mut a = RawClient::connect(addr).await;
    let unknown = a.call(&describe("g"), 5).await;
    assert_eq!(unknown.groups[0].group_state.as_str(), "Dead");

    // Joined but not yet synced: the member, without metadata or assignment.
    let joined = join_new(&mut a).await;
    let a_id = joined.member_id.to_string();
    let completing = a.call(&describe("g"), 5).await.groups.remove(0);
    assert_eq!(completing.group_state.as_str(), "CompletingRebalance");
    assert_eq!(completing.members.len(), 1);
    assert!(completing.members[0].member_assignment.is_empty());
    assert_eq!(completing.protocol_data.as_str(), "");

    a.call(&sync_request(&a_id, 1, &[(a_id.as_str(), b"p0")]), 5)
        .await;
    let stable = a.call(&describe("g"), 5).await.groups.remove(0);
    assert_eq!(
        (
            stable.error_code,
            stable.group_state.as_str(),
            stable.protocol_type.as_str(),
            stable.protocol_data.as_str()
        ),
        (0, "Stable", "consumer", "range")
    );
    let member = &stable.members[0];
    assert_eq!(member.member_id.as_str(), a_id);
    assert_eq!(member.client_host.as_str(), "/127.0.0.1");
    assert_eq!(member.member_metadata.as_ref(), b"subscription");
    assert_eq!(member.member_assignment.as_ref(), b"p0");

    // Everyone gone: Empty, still a consumer group.
    a.call(
        &m::LeaveGroupRequest {
            group_id: "g".into(),
            member_id: StrBytes::from_string(a_id.clone()),
            ..Default::default()
        },
        2,
    )
    .await;
    let empty = a.call(&describe("g"), 5).await.groups.remove(0);
    assert_eq!(
        (
            empty.group_state.as_str(),
            empty.protocol_type.as_str(),
            empty.members.len()
        ),
        ("Empty", "consumer", 0)
    );
    cluster.shutdown().await;
}
