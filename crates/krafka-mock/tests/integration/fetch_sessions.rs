//! KIP-227 fetch sessions, the broker side, over TCP: opening, incremental answers that hold
//! only what changed, forgotten topics, every error path, closing and eviction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use krafka_mock::MockCluster;
use krafka_protocol::messages::{self as m, fetch_request};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};
use support::{RawClient, batch, produce};

const V: i16 = 12;

fn partition(index: i32, offset: i64) -> fetch_request::FetchPartition {
    fetch_request::FetchPartition {
        partition: index,
        fetch_offset: offset,
        partition_max_bytes: 1 << 20,
        ..Default::default()
    }
}

/// A fetch in a session; `parts` lists the (topic, partition, offset) entries it carries.
fn session_fetch(
    session_id: i32,
    epoch: i32,
    parts: &[(&str, i32, i64)],
    forget: &[(&str, i32)],
) -> m::FetchRequest {
    let mut topics: Vec<fetch_request::FetchTopic> = Vec::new();
    for (topic, index, offset) in parts {
        match topics.iter_mut().find(|t| t.topic == *topic) {
            Some(t) => t.partitions.push(partition(*index, *offset)),
            None => topics.push(fetch_request::FetchTopic {
                topic: StrBytes::from_string(topic.to_string()),
                partitions: vec![partition(*index, *offset)],
                ..Default::default()
            }),
        }
    }
    m::FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: 1 << 20,
        session_id,
        session_epoch: epoch,
        topics,
        forgotten_topics_data: forget
            .iter()
            .map(|(topic, index)| fetch_request::ForgottenTopic {
                topic: StrBytes::from_string(topic.to_string()),
                partitions: vec![*index],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// (topic, partition, record bytes) of every partition in a response.
fn answered(response: &m::FetchResponse) -> Vec<(String, i32, usize)> {
    response
        .responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.topic.to_string(),
                    p.partition_index,
                    p.records.as_ref().map_or(0, |r| r.len()),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn an_incremental_fetch_answers_only_what_changed() {
    let cluster = MockCluster::builder()
        .topic("a", 2)
        .topic("b", 1)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let full = client
        .call(
            &session_fetch(0, 0, &[("a", 0, 0), ("a", 1, 0), ("b", 0, 0)], &[]),
            V,
        )
        .await;
    assert_eq!(full.error_code, 0);
    let session = full.session_id;
    assert_ne!(session, 0, "a full fetch at epoch 0 opens a session");
    assert_eq!(
        answered(&full).len(),
        3,
        "a full fetch answers every partition"
    );
    assert_eq!(cluster.fetch_sessions(1), 1);

    let quiet = client.call(&session_fetch(session, 1, &[], &[]), V).await;
    assert_eq!((quiet.error_code, quiet.session_id), (0, session));
    assert!(
        answered(&quiet).is_empty(),
        "nothing changed, nothing answered"
    );

    client.call(&produce("a", 1, batch(&[b"new"]), -1), 9).await;
    let changed = client.call(&session_fetch(session, 2, &[], &[]), V).await;
    let parts = answered(&changed);
    assert_eq!(parts.len(), 1);
    assert_eq!((parts[0].0.as_str(), parts[0].1), ("a", 1));
    assert!(
        parts[0].2 > 0,
        "with the new records, from the session's fetch offset"
    );

    // The client consumed them and moves its offset: only that partition is sent.
    let moved = client
        .call(&session_fetch(session, 3, &[("a", 1, 1)], &[]), V)
        .await;
    assert!(
        answered(&moved).is_empty(),
        "no records past offset 1, watermarks unchanged"
    );
    let still = client.call(&session_fetch(session, 4, &[], &[]), V).await;
    assert!(
        answered(&still).is_empty(),
        "the moved offset was remembered"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn forgotten_partitions_leave_the_session() {
    let cluster = MockCluster::builder().topic("a", 2).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let session = client
        .call(&session_fetch(0, 0, &[("a", 0, 0), ("a", 1, 0)], &[]), V)
        .await
        .session_id;
    client
        .call(&session_fetch(session, 1, &[], &[("a", 0)]), V)
        .await;
    client.call(&produce("a", 0, batch(&[b"x"]), -1), 9).await;
    client.call(&produce("a", 1, batch(&[b"y"]), -1), 9).await;
    let after = client.call(&session_fetch(session, 2, &[], &[]), V).await;
    let parts = answered(&after);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].1, 1, "only the partition still in the session");
    cluster.shutdown().await;
}

#[tokio::test]
async fn session_errors_unknown_id_and_wrong_epoch() {
    let cluster = MockCluster::builder().topic("a", 1).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let unknown = client.call(&session_fetch(4242, 1, &[], &[]), V).await;
    assert_eq!(unknown.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
    assert_eq!(unknown.session_id, 0);
    let session = client
        .call(&session_fetch(0, 0, &[("a", 0, 0)], &[]), V)
        .await
        .session_id;
    let skipped = client.call(&session_fetch(session, 2, &[], &[]), V).await;
    assert_eq!(skipped.error_code, ErrorCode::INVALID_FETCH_SESSION_EPOCH.0);
    // The session survives a wrong epoch; the right one still works.
    let right = client.call(&session_fetch(session, 1, &[], &[]), V).await;
    assert_eq!((right.error_code, right.session_id), (0, session));
    cluster.shutdown().await;
}

#[tokio::test]
async fn closing_and_reopening_sessions() {
    let cluster = MockCluster::builder().topic("a", 1).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let first = client
        .call(&session_fetch(0, 0, &[("a", 0, 0)], &[]), V)
        .await
        .session_id;
    // Epoch 0 naming a session replaces it.
    let second = client
        .call(&session_fetch(first, 0, &[("a", 0, 0)], &[]), V)
        .await
        .session_id;
    assert_ne!(first, second);
    assert_eq!(cluster.fetch_sessions(1), 1);
    // Epoch -1 closes it and is answered without a session.
    let closing = client
        .call(&session_fetch(second, -1, &[("a", 0, 0)], &[]), V)
        .await;
    assert_eq!((closing.error_code, closing.session_id), (0, 0));
    assert_eq!(answered(&closing).len(), 1);
    assert_eq!(cluster.fetch_sessions(1), 0);
    let gone = client.call(&session_fetch(second, 1, &[], &[]), V).await;
    assert_eq!(gone.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
    cluster.shutdown().await;
}

#[tokio::test]
async fn eviction_by_slots_and_by_command() {
    let cluster = MockCluster::builder()
        .topic("a", 1)
        .fetch_session_slots(1)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let first = client
        .call(&session_fetch(0, 0, &[("a", 0, 0)], &[]), V)
        .await
        .session_id;
    let second = client
        .call(&session_fetch(0, 0, &[("a", 0, 0)], &[]), V)
        .await
        .session_id;
    let evicted = client.call(&session_fetch(first, 1, &[], &[]), V).await;
    assert_eq!(evicted.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);
    assert_eq!(cluster.evict_fetch_sessions(), 1);
    let gone = client.call(&session_fetch(second, 1, &[], &[]), V).await;
    assert_eq!(gone.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0);

    let disabled = MockCluster::builder()
        .topic("a", 1)
        .fetch_session_slots(0)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(disabled.broker_addrs()[0]).await;
    let none = client
        .call(&session_fetch(0, 0, &[("a", 0, 0)], &[]), V)
        .await;
    assert_eq!(
        (none.error_code, none.session_id),
        (0, 0),
        "no room: keep sending full fetches"
    );
    cluster.shutdown().await;
    disabled.shutdown().await;
}

#[tokio::test]
async fn sessions_by_topic_id_from_v13() {
    let cluster = MockCluster::builder().topic("a", 1).start().await.unwrap();
    let id = cluster.state().topic("a").unwrap().id;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let mut request = session_fetch(0, 0, &[("a", 0, 0)], &[]);
    request.topics[0].topic = StrBytes::new();
    request.topics[0].topic_id = id;
    request.topics.push(fetch_request::FetchTopic {
        topic_id: Uuid::from_u128(99),
        partitions: vec![partition(0, 0)],
        ..Default::default()
    });
    let full = client.call(&request, 13).await;
    assert_ne!(full.session_id, 0);
    let unknown = full
        .responses
        .iter()
        .find(|t| t.topic_id == Uuid::from_u128(99))
        .unwrap();
    assert_eq!(
        unknown.partitions[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_ID.0
    );
    client.call(&produce("a", 0, batch(&[b"v"]), -1), 9).await;
    let mut incremental = session_fetch(full.session_id, 1, &[], &[]);
    incremental.topics.clear();
    let changed = client.call(&incremental, 13).await;
    assert_eq!(changed.responses.len(), 1);
    assert_eq!(changed.responses[0].topic_id, id);
    cluster.shutdown().await;
}
