//! Creating the topic a command works on, on a real cluster (the embedded mock is started with
//! it).

use krafka::net::{ConnectionConfig, ConnectionPool};
use krafka::protocol::messages::CreateTopicsRequest;
use krafka::protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use krafka::protocol::{ErrorCode, StrBytes};

/// Creates `topic` with `partitions`, `replication` copies and `configs` (such as
/// `min.insync.replicas`). An existing topic is fine.
pub async fn create(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication: i16,
    configs: &[(&str, &str)],
) -> Result<(), String> {
    let pool = ConnectionPool::new(ConnectionConfig::default());
    let first = bootstrap.split(',').next().unwrap_or(bootstrap).trim();
    let conn = pool
        .get_connection(first)
        .await
        .map_err(|e| format!("cannot reach {first}: {e}"))?;
    let created = conn
        .send_negotiated(&CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: StrBytes::from_string(topic.to_owned()),
                num_partitions: partitions,
                replication_factor: replication,
                configs: configs
                    .iter()
                    .map(|(name, value)| CreatableTopicConfig {
                        name: StrBytes::from_string((*name).to_owned()),
                        value: Some(StrBytes::from_string((*value).to_owned())),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            timeout_ms: 30_000,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("creating topic {topic}: {e}"))?;
    pool.close().await;
    let code = created
        .topics
        .first()
        .map_or(ErrorCode::UNKNOWN_SERVER_ERROR, |t| ErrorCode(t.error_code));
    if code.is_ok() || code == ErrorCode::TOPIC_ALREADY_EXISTS {
        Ok(())
    } else {
        Err(format!("creating topic {topic}: {code}"))
    }
}
