//! DescribeConfigs v0-4: configs are Kafka's defaults for the usual topic keys, overridden by
//! what CreateTopics set; broker resources report the mock's own settings.

use std::collections::BTreeMap;

use krafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use krafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::BrokerContext;
use super::context::error_message;

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

/// Answers a DescribeConfigs request for topics and brokers.
pub fn handle(
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
                error_message: error_message(error),
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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::DESCRIBE_CONFIGS, 0, 4);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::DescribeConfigsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::DescribeConfigsResponse {
    let e = code.0;
    krafka_protocol::messages::DescribeConfigsResponse {
        results: request
            .resources
            .iter()
            .map(|res| {
                krafka_protocol::messages::describe_configs_response::DescribeConfigsResult {
                    error_code: e,
                    resource_type: res.resource_type,
                    resource_name: res.resource_name.clone(),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}
