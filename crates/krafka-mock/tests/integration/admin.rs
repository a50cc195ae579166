//! Topic administration: DeleteTopics, CreatePartitions, DescribeConfigs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use krafka_mock::MockCluster;
use krafka_protocol::messages as m;
use krafka_protocol::{ErrorCode, StrBytes};
use support::{RawClient, batch, produce};

fn describe(name: &str, keys: Option<Vec<&'static str>>) -> m::DescribeConfigsRequest {
    m::DescribeConfigsRequest {
        resources: vec![m::describe_configs_request::DescribeConfigsResource {
            resource_type: 2,
            resource_name: StrBytes::from_string(name.to_string()),
            configuration_keys: keys
                .map(|k| k.into_iter().map(StrBytes::from_static_str).collect()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn deleting_topics_by_name_and_by_id() {
    let cluster = MockCluster::builder()
        .topic("a", 1)
        .topic("b", 1)
        .start()
        .await
        .unwrap();
    let id = cluster.state().topic("b").unwrap().id;
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let by_name = client
        .call(
            &m::DeleteTopicsRequest {
                topic_names: vec!["a".into(), "zz".into()],
                timeout_ms: 1000,
                ..Default::default()
            },
            5,
        )
        .await;
    let errors: Vec<i16> = by_name.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(errors, vec![0, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0]);
    assert!(cluster.state().topic("a").is_none());
    let produced = client.call(&produce("a", 0, batch(&[b"x"]), -1), 9).await;
    // Deleted, then auto-created again by the produce (auto-creation is on by default).
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);

    let by_id = client
        .call(
            &m::DeleteTopicsRequest {
                topics: vec![m::delete_topics_request::DeleteTopicState {
                    name: None,
                    topic_id: id,
                    ..Default::default()
                }],
                timeout_ms: 1000,
                ..Default::default()
            },
            6,
        )
        .await;
    assert_eq!(by_id.responses[0].error_code, 0);
    assert_eq!(by_id.responses[0].name.as_deref(), Some("b"));
    assert!(cluster.state().topic("b").is_none());
    cluster.shutdown().await;
}

#[tokio::test]
async fn growing_a_topic() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2)
        .start()
        .await
        .unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let grow = |count: i32, validate_only: bool| m::CreatePartitionsRequest {
        topics: vec![m::create_partitions_request::CreatePartitionsTopic {
            name: "t".into(),
            count,
            assignments: None,
            ..Default::default()
        }],
        timeout_ms: 1000,
        validate_only,
        ..Default::default()
    };
    assert_eq!(
        client.call(&grow(5, true), 3).await.results[0].error_code,
        0
    );
    assert_eq!(
        cluster.state().topic("t").unwrap().partitions.len(),
        2,
        "validate only"
    );
    assert_eq!(
        client.call(&grow(5, false), 3).await.results[0].error_code,
        0
    );
    assert_eq!(cluster.state().topic("t").unwrap().partitions.len(), 5);
    let shrink = client.call(&grow(3, false), 3).await;
    assert_eq!(
        shrink.results[0].error_code,
        ErrorCode::INVALID_PARTITIONS.0
    );
    assert!(shrink.results[0].error_message.is_some());
    cluster.shutdown().await;
}

#[tokio::test]
async fn topic_configs_are_defaults_overridden_at_creation() {
    let cluster = MockCluster::builder().start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    client
        .call(
            &m::CreateTopicsRequest {
                topics: vec![m::create_topics_request::CreatableTopic {
                    name: "c".into(),
                    num_partitions: 1,
                    replication_factor: 1,
                    configs: vec![m::create_topics_request::CreatableTopicConfig {
                        name: "cleanup.policy".into(),
                        value: Some("compact".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                timeout_ms: 1000,
                ..Default::default()
            },
            7,
        )
        .await;
    let response = client.call(&describe("c", None), 4).await;
    let result = &response.results[0];
    assert_eq!(result.error_code, 0);
    let get = |key: &str| {
        result
            .configs
            .iter()
            .find(|c| c.name.as_str() == key)
            .unwrap()
    };
    assert_eq!(
        (
            get("cleanup.policy").value.as_deref(),
            get("cleanup.policy").config_source
        ),
        (Some("compact"), 1)
    );
    assert_eq!(
        (
            get("retention.ms").value.as_deref(),
            get("retention.ms").config_source
        ),
        (Some("604800000"), 5)
    );

    let only = client
        .call(&describe("c", Some(vec!["min.insync.replicas"])), 4)
        .await;
    assert_eq!(only.results[0].configs.len(), 1);
    let v0 = client
        .call(&describe("c", Some(vec!["retention.ms"])), 0)
        .await;
    assert!(
        v0.results[0].configs[0].is_default,
        "v0 reports defaults with is_default"
    );
    let missing = client.call(&describe("nope", None), 4).await;
    assert_eq!(
        missing.results[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
    );
    cluster.shutdown().await;
}
