//! [`Admin`]: topic and cluster administration on a [`Krafka`](crate::Krafka) handle's
//! connections: create, delete, list and describe topics (partitions, leaders, replicas and
//! configs such as `min.insync.replicas`), and describe the cluster. Groups (listing them,
//! their committed offsets and lag) are in `admin_groups`.
//!
//! Requests go to any broker the metadata knows (brokers forward topic changes to the
//! controller). Broker refusals are [`AdminError::Broker`] with the code and the topic.

use std::collections::BTreeMap;
use std::fmt;

use krafka_net::{ClusterMetadata, MetadataSnapshot, NetError};
use krafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use krafka_protocol::messages::delete_topics_request::DeleteTopicState;
use krafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use krafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, MetadataRequest,
};
use krafka_protocol::{ApiKey, ErrorCode, StrBytes};

/// Why an admin call failed.
#[derive(Debug)]
pub enum AdminError {
    /// No broker could be reached, or the request failed on the way.
    Network(NetError),
    /// The broker refused, for `topic`.
    Broker {
        /// The topic the refusal is about.
        topic: String,
        /// The broker's error code.
        code: ErrorCode,
        /// The broker's message, if it gave one.
        message: Option<String>,
    },
    /// The group coordinator refused, for `group`.
    Group {
        /// The group the refusal is about.
        group: String,
        /// The broker's error code.
        code: ErrorCode,
    },
    /// A broker's answer held bytes that do not decode (e.g. a member's assignment).
    Malformed {
        /// What did not decode.
        what: String,
        /// Why.
        error: krafka_protocol::DecodeError,
    },
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Network(e) => write!(f, "{e}"),
            AdminError::Broker {
                topic,
                code,
                message,
            } => {
                write!(f, "topic {topic}: {code}")?;
                // Brokers often send the code's own description; say it once.
                let extra = |m: &&str| !m.is_empty() && *m != code.message();
                if let Some(m) = message.as_deref().filter(extra) {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            AdminError::Group { group, code } => write!(f, "group {group}: {code}"),
            AdminError::Malformed { what, error } => write!(f, "{what}: {error}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<NetError> for AdminError {
    fn from(e: NetError) -> Self {
        AdminError::Network(e)
    }
}

/// A new topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Its name.
    pub name: String,
    /// Its partition count.
    pub partitions: i32,
    /// Copies of each partition (-1: the broker's default).
    pub replication_factor: i16,
    /// Topic configs, such as `min.insync.replicas` or `retention.ms`.
    pub configs: BTreeMap<String, String>,
}

impl NewTopic {
    /// `name` with `partitions` and the broker's default replication.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        Self {
            name: name.into(),
            partitions,
            replication_factor: -1,
            configs: BTreeMap::new(),
        }
    }

    /// Sets the replication factor.
    pub fn replication_factor(mut self, copies: i16) -> Self {
        self.replication_factor = copies;
        self
    }

    /// Adds a topic config.
    pub fn config(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(name.into(), value.into());
        self
    }
}

/// One partition as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Its index.
    pub partition: i32,
    /// The leader's node id (-1 while there is none).
    pub leader: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
}

/// A topic: its partitions and its configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Its name.
    pub name: String,
    /// Its partitions, by index.
    pub partitions: Vec<PartitionDescription>,
    /// Its configs (every one the broker reports, defaults included).
    pub configs: BTreeMap<String, String>,
}

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerDescription {
    /// Its node id.
    pub id: i32,
    /// `host:port`.
    pub addr: String,
    /// Its rack, if configured.
    pub rack: Option<String>,
}

/// The cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// Its id, if the brokers report one.
    pub cluster_id: Option<String>,
    /// The controller's node id (-1 if unknown).
    pub controller: i32,
    /// Its brokers, by id.
    pub brokers: Vec<BrokerDescription>,
}

/// Administration on shared connections (from [`Krafka::admin`](crate::Krafka::admin)).
#[derive(Debug, Clone)]
pub struct Admin {
    metadata: ClusterMetadata,
}

fn refusal(topic: &str, code: i16, message: Option<&StrBytes>) -> Result<(), AdminError> {
    let code = ErrorCode(code);
    if code.is_ok() {
        return Ok(());
    }
    Err(AdminError::Broker {
        topic: topic.to_owned(),
        code,
        message: message.map(ToString::to_string),
    })
}

impl Admin {
    pub(crate) fn new(metadata: ClusterMetadata) -> Self {
        Self { metadata }
    }

    pub(crate) fn metadata(&self) -> &ClusterMetadata {
        &self.metadata
    }

    /// A connection to some broker the metadata knows.
    async fn any_broker(&self) -> Result<krafka_net::BrokerConnection, AdminError> {
        let mut snapshot = self.metadata.snapshot();
        if snapshot.brokers.is_empty() {
            snapshot = self.metadata.refresh().await?;
        }
        let mut ids: Vec<i32> = snapshot.brokers.keys().copied().collect();
        ids.sort_unstable();
        let Some(id) = ids.first() else {
            return Err(AdminError::Network(NetError::NoBrokerAvailable {
                last_error: None,
            }));
        };
        Ok(self.metadata.pool().get_connection_by_id(*id).await?)
    }

    /// Creates `topics`. Cancel-safe in that a dropped call may still create them.
    pub async fn create_topics(&self, topics: &[NewTopic]) -> Result<(), AdminError> {
        let conn = self.any_broker().await?;
        let request = CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|t| CreatableTopic {
                    name: StrBytes::from(t.name.as_str()),
                    num_partitions: t.partitions,
                    replication_factor: t.replication_factor,
                    configs: t
                        .configs
                        .iter()
                        .map(|(k, v)| CreatableTopicConfig {
                            name: StrBytes::from(k.as_str()),
                            value: Some(StrBytes::from(v.as_str())),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            timeout_ms: 30_000,
            ..Default::default()
        };
        let response = conn.send_negotiated(&request).await?;
        for t in &response.topics {
            refusal(&t.name, t.error_code, t.error_message.as_ref())?;
        }
        self.metadata
            .add_topics(topics.iter().map(|t| t.name.clone()));
        Ok(())
    }

    /// Deletes the topics named. Cancel-safe in that a dropped call may still delete them.
    pub async fn delete_topics<S: AsRef<str>>(&self, names: &[S]) -> Result<(), AdminError> {
        let conn = self.any_broker().await?;
        let version = conn.version_in(ApiKey::DELETE_TOPICS, 0..=i16::MAX)?;
        let mut request = DeleteTopicsRequest {
            timeout_ms: 30_000,
            ..Default::default()
        };
        if version >= 6 {
            request.topics = names
                .iter()
                .map(|n| DeleteTopicState {
                    name: Some(StrBytes::from(n.as_ref())),
                    ..Default::default()
                })
                .collect();
        } else {
            request.topic_names = names.iter().map(|n| StrBytes::from(n.as_ref())).collect();
        }
        let response = conn.send(&request, version).await?;
        for r in &response.responses {
            let name = r.name.as_deref().unwrap_or_default();
            refusal(name, r.error_code, r.error_message.as_ref())?;
        }
        self.metadata.request_refresh();
        Ok(())
    }

    /// The cluster as one Metadata request for every topic describes it.
    async fn everything(&self) -> Result<MetadataSnapshot, AdminError> {
        let conn = self.any_broker().await?;
        let request = MetadataRequest {
            topics: None,
            allow_auto_topic_creation: false,
            ..Default::default()
        };
        let response = conn.send_negotiated(&request).await?;
        Ok(MetadataSnapshot::from_response(&response, 0))
    }

    /// Every topic's name, sorted (internal topics left out). Cancel-safe.
    pub async fn list_topics(&self) -> Result<Vec<String>, AdminError> {
        let snapshot = self.everything().await?;
        let mut names: Vec<String> = snapshot
            .topics
            .values()
            .filter(|t| !t.is_internal && t.error.is_ok())
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The brokers, the controller and the cluster id. Cancel-safe.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, AdminError> {
        let snapshot = self.everything().await?;
        let mut brokers: Vec<BrokerDescription> = snapshot
            .brokers
            .values()
            .map(|b| BrokerDescription {
                id: b.id,
                addr: b.addr(),
                rack: b.rack.clone(),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(ClusterDescription {
            cluster_id: snapshot.cluster_id.clone(),
            controller: snapshot.controller_id,
            brokers,
        })
    }

    /// A topic's partitions and configs. Cancel-safe.
    pub async fn describe_topic(&self, name: &str) -> Result<TopicDescription, AdminError> {
        let snapshot = self.everything().await?;
        let Some(topic) = snapshot.topic(name) else {
            return Err(AdminError::Broker {
                topic: name.to_owned(),
                code: ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                message: None,
            });
        };
        refusal(name, topic.error.0, None)?;
        let partitions = topic
            .partitions
            .iter()
            .map(|p| PartitionDescription {
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
            })
            .collect();
        let conn = self.any_broker().await?;
        let response = conn
            .send_negotiated(&DescribeConfigsRequest {
                resources: vec![DescribeConfigsResource {
                    // 2: a topic.
                    resource_type: 2,
                    resource_name: StrBytes::from(name),
                    configuration_keys: None,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await?;
        let mut configs = BTreeMap::new();
        for result in &response.results {
            refusal(name, result.error_code, result.error_message.as_ref())?;
            for c in &result.configs {
                if let Some(value) = &c.value {
                    configs.insert(c.name.to_string(), value.to_string());
                }
            }
        }
        Ok(TopicDescription {
            name: name.to_owned(),
            partitions,
            configs,
        })
    }
}
