//! Reading a rebalance's answers, as pure functions: what a JoinGroup or SyncGroup answer means
//! for the member, and the subscription it joins with.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use krafka_net::NetError;
use krafka_protocol::{DecodeError, ErrorCode, StrBytes};

use super::leader;
use super::messages::JoinAnswer;
use super::outcome::{Verdict, classify};
use crate::assignor::{self, protocol};
use crate::config::AssignorKind;
use crate::record::TopicPartition;

/// What a JoinGroup answer means.
#[derive(Debug)]
pub(crate) enum JoinRead {
    /// Send the JoinGroup again: at once with the id the coordinator gave (KIP-394's
    /// MEMBER_ID_REQUIRED), or because a rebalance restarted.
    Again {
        member_id: Option<StrBytes>,
    },
    Failed(Verdict),
    Joined {
        protocol: AssignorKind,
        member_id: StrBytes,
        generation: i32,
        /// Every member's subscription, when this member leads.
        led: Option<Vec<assignor::Member>>,
    },
}

pub(crate) fn read_join(answer: Result<JoinAnswer, NetError>) -> JoinRead {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            tracing::debug!(error = %e, "JoinGroup failed");
            return JoinRead::Failed(Verdict::CoordinatorLost);
        }
    };
    match answer.error {
        ErrorCode::NONE => {}
        ErrorCode::MEMBER_ID_REQUIRED => {
            return JoinRead::Again {
                member_id: Some(answer.member_id),
            };
        }
        ErrorCode::REBALANCE_IN_PROGRESS => return JoinRead::Again { member_id: None },
        code => return JoinRead::Failed(classify(code)),
    }
    let name = answer.protocol_name.as_deref().unwrap_or_default();
    let Some(protocol) = assignor_named(name) else {
        return JoinRead::Failed(Verdict::Fatal(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
    };
    let leads = answer.leader == answer.member_id;
    JoinRead::Joined {
        protocol,
        led: leads.then(|| leader::subscriptions(&answer.members)),
        member_id: answer.member_id,
        generation: answer.generation,
    }
}

fn assignor_named(name: &str) -> Option<AssignorKind> {
    [
        AssignorKind::Range,
        AssignorKind::RoundRobin,
        AssignorKind::CooperativeSticky,
    ]
    .into_iter()
    .find(|a| a.protocol_name() == name)
}

/// What a SyncGroup answer means.
#[derive(Debug)]
pub(crate) enum SyncRead {
    /// The rebalance restarted: join again.
    Rejoin,
    Failed(Verdict),
    /// The leader's assignment cannot be read.
    Malformed(DecodeError),
    Assigned(BTreeSet<TopicPartition>),
}

pub(crate) fn read_sync(answer: Result<(ErrorCode, Bytes), NetError>) -> SyncRead {
    let (code, bytes) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            tracing::debug!(error = %e, "SyncGroup failed");
            return SyncRead::Failed(Verdict::CoordinatorLost);
        }
    };
    match code {
        ErrorCode::NONE => match protocol::decode_assignment(&bytes) {
            Ok(partitions) => SyncRead::Assigned(partitions.into_iter().collect()),
            Err(e) => SyncRead::Malformed(e),
        },
        ErrorCode::REBALANCE_IN_PROGRESS => SyncRead::Rejoin,
        code => SyncRead::Failed(classify(code)),
    }
}

/// The JoinGroup protocols: one subscription per configured assignor, in preference order.
/// A cooperative member lists what it `owned` in `generation`, so the leader can keep it there.
pub(crate) fn join_protocols(
    assignors: &[AssignorKind],
    topics: &BTreeSet<Arc<str>>,
    owned: &[TopicPartition],
    generation: i32,
) -> Vec<(&'static str, Bytes)> {
    assignors
        .iter()
        .filter_map(
            |a| match protocol::encode_subscription(topics, owned, generation) {
                Ok(bytes) => Some((a.protocol_name(), bytes)),
                Err(e) => {
                    tracing::warn!(error = %e, "subscription cannot be encoded");
                    None
                }
            },
        )
        .collect()
}
