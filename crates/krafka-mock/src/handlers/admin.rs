//! DeleteTopics v0-6, CreatePartitions v0-3 and DescribeConfigs v0-4: the topic administration
//! a client's admin API and tests need. Configs are Kafka's defaults for the usual topic keys,
//! overridden by what CreateTopics set; broker resources report the mock's own settings.

use std::collections::BTreeMap;

use krafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use krafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use krafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use krafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse,
};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};

use super::context::BrokerContext;

/// Kafka's defaults for the topic configs clients ask about most.
pub const TOPIC_DEFAULTS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("max.message.bytes", "1048588"),
    ("message.timestamp.type", "CreateTime"),
    ("min.insync.replicas", "1"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
];

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
/// `ConfigSource` values (DescribeConfigs v1+).
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

fn message(error: ErrorCode) -> Option<StrBytes> {
    error
        .is_error()
        .then(|| StrBytes::from_static_str(error.message()))
}

/// Answers a DeleteTopics request (by name, or by topic id from v6).
pub fn delete_topics(
    ctx: &BrokerContext,
    version: i16,
    request: &DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let state = &ctx.state;
    let wanted: Vec<(Option<StrBytes>, Uuid)> = if version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.clone()), Uuid::ZERO))
            .collect()
    };
    let responses = wanted
        .into_iter()
        .map(|(name, id)| {
            let name = name
                .map(|n| n.to_string())
                .or_else(|| state.topic_by_id(id).map(|(n, _)| n));
            let result = match &name {
                Some(name) => state.delete_topic(name),
                None => Err(ErrorCode::UNKNOWN_TOPIC_ID),
            };
            let error = result.err().unwrap_or(ErrorCode::NONE);
            DeletableTopicResult {
                name: name.map(StrBytes::from_string).or(if version >= 6 {
                    None
                } else {
                    Some(StrBytes::new())
                }),
                topic_id: if version >= 6 {
                    result.unwrap_or(id)
                } else {
                    Uuid::ZERO
                },
                error_code: error.0,
                error_message: if version >= 5 { message(error) } else { None },
                ..Default::default()
            }
        })
        .collect();
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

/// Answers a CreatePartitions request (explicit replica assignments are not supported: the
/// mock places new partitions itself).
pub fn create_partitions(
    ctx: &BrokerContext,
    request: &CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .iter()
        .map(|t| {
            let error = match ctx
                .state
                .add_partitions(&t.name, t.count, request.validate_only)
            {
                Ok(()) => ErrorCode::NONE,
                Err(e) => e,
            };
            CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: error.0,
                error_message: message(error),
                ..Default::default()
            }
        })
        .collect();
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

/// Answers a DescribeConfigs request for topics and brokers.
pub fn describe_configs(
    ctx: &BrokerContext,
    version: i16,
    request: &DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let state = &ctx.state;
    let results = request
        .resources
        .iter()
        .map(|r| {
            let configs: Result<Vec<(String, String, i8)>, ErrorCode> = match r.resource_type {
                TOPIC => match state.topic(&r.resource_name) {
                    Some(topic) => {
                        let mut all: BTreeMap<String, (String, i8)> = TOPIC_DEFAULTS
                            .iter()
                            .map(|(k, v)| (k.to_string(), (v.to_string(), DEFAULT_CONFIG)))
                            .collect();
                        for (k, v) in &topic.configs {
                            all.insert(k.clone(), (v.clone(), DYNAMIC_TOPIC_CONFIG));
                        }
                        Ok(all.into_iter().map(|(k, (v, s))| (k, v, s)).collect())
                    }
                    None => Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                },
                BROKER => Ok(vec![
                    (
                        "auto.create.topics.enable".into(),
                        state.auto_create_topics.to_string(),
                        STATIC_BROKER_CONFIG,
                    ),
                    (
                        "num.partitions".into(),
                        state.default_partitions.to_string(),
                        STATIC_BROKER_CONFIG,
                    ),
                    (
                        "default.replication.factor".into(),
                        "1".into(),
                        DEFAULT_CONFIG,
                    ),
                ]),
                _ => Err(ErrorCode::INVALID_REQUEST),
            };
            let (error, configs) = match configs {
                Ok(c) => (ErrorCode::NONE, c),
                Err(e) => (e, Vec::new()),
            };
            let configs = configs
                .into_iter()
                .filter(|(k, _, _)| {
                    r.configuration_keys
                        .as_ref()
                        .is_none_or(|keys| keys.iter().any(|w| w.as_str() == k))
                })
                .map(|(name, value, source)| DescribeConfigsResourceResult {
                    name: StrBytes::from_string(name),
                    value: Some(StrBytes::from_string(value)),
                    read_only: false,
                    is_default: version == 0 && source == DEFAULT_CONFIG,
                    config_source: if version >= 1 { source } else { -1 },
                    is_sensitive: false,
                    ..Default::default()
                })
                .collect();
            DescribeConfigsResult {
                error_code: error.0,
                error_message: message(error),
                resource_type: r.resource_type,
                resource_name: r.resource_name.clone(),
                configs,
                ..Default::default()
            }
        })
        .collect();
    DescribeConfigsResponse {
        results,
        ..Default::default()
    }
}
