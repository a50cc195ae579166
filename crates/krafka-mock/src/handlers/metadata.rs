//! Metadata, v0-12: brokers, controller, cluster id, topics with their partitions' leaders and
//! epochs, topic ids (v10+), lookup by topic id (v10+), auto-creation (v4+ asks explicitly;
//! earlier versions always allow it). Every partition has one replica, its leader.

use krafka_protocol::messages::MetadataRequest;
use krafka_protocol::messages::MetadataResponse;
use krafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};

use super::context::BrokerContext;
use crate::state::Topic;

/// Answers a Metadata request.
pub fn handle(ctx: &BrokerContext, version: i16, request: &MetadataRequest) -> MetadataResponse {
    let state = &ctx.state;
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
    let topics = match &request.topics {
        None => state
            .topics()
            .into_iter()
            .map(|(name, t)| describe(ctx, &name, &t, version))
            .collect(),
        // v0 has no null: an empty list means every topic.
        Some(list) if list.is_empty() && version == 0 => state
            .topics()
            .into_iter()
            .map(|(name, t)| describe(ctx, &name, &t, version))
            .collect(),
        Some(list) => list
            .iter()
            .map(|wanted| {
                let found = match &wanted.name {
                    Some(name) if allow_auto_create => {
                        state.topic_or_create(name).map(|t| (name.to_string(), t))
                    }
                    Some(name) => state.topic(name).map(|t| (name.to_string(), t)),
                    None => state.topic_by_id(wanted.topic_id),
                };
                match found {
                    Some((name, topic)) => describe(ctx, &name, &topic, version),
                    None => MetadataResponseTopic {
                        error_code: if wanted.name.is_some() {
                            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.0
                        } else {
                            ErrorCode::UNKNOWN_TOPIC_ID.0
                        },
                        name: wanted.name.clone().or(if version >= 12 {
                            None
                        } else {
                            Some(StrBytes::new())
                        }),
                        topic_id: if version >= 10 {
                            wanted.topic_id
                        } else {
                            Uuid::ZERO
                        },
                        ..Default::default()
                    },
                }
            })
            .collect(),
    };
    let brokers = state
        .brokers
        .read()
        .iter()
        .filter(|b| b.up)
        .map(|b| MetadataResponseBroker {
            node_id: b.node_id,
            host: StrBytes::from_string(b.host.clone()),
            port: i32::from(b.port),
            rack: None,
            ..Default::default()
        })
        .collect();
    MetadataResponse {
        brokers,
        cluster_id: (version >= 2).then(|| StrBytes::from_string(state.cluster_id.clone())),
        controller_id: state.controller_id(),
        topics,
        ..Default::default()
    }
}

fn describe(ctx: &BrokerContext, name: &str, topic: &Topic, version: i16) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let leader = p.leader();
            // One replica per partition: with its broker down, the partition has no leader.
            let up = ctx.state.broker_is_up(leader);
            MetadataResponsePartition {
                error_code: if up {
                    0
                } else {
                    ErrorCode::LEADER_NOT_AVAILABLE.0
                },
                partition_index: index as i32,
                leader_id: if up { leader } else { -1 },
                leader_epoch: p.leader_epoch(),
                replica_nodes: vec![leader],
                isr_nodes: if up { vec![leader] } else { vec![] },
                offline_replicas: if up { vec![] } else { vec![leader] },
                ..Default::default()
            }
        })
        .collect();
    MetadataResponseTopic {
        error_code: 0,
        name: Some(StrBytes::from_string(name.to_string())),
        topic_id: if version >= 10 { topic.id } else { Uuid::ZERO },
        is_internal: false,
        partitions,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::METADATA, 0, 12);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::MetadataRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::MetadataResponse {
    let e = code.0;
    krafka_protocol::messages::MetadataResponse {
        topics: request
            .topics
            .iter()
            .flatten()
            .map(
                |t| krafka_protocol::messages::metadata_response::MetadataResponseTopic {
                    error_code: e,
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
