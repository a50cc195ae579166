//! The leader's part of a rebalance, as pure functions: read every member's subscription from
//! the JoinGroup answer, and turn partition counts into each member's encoded assignment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use krafka_protocol::EncodeError;

use super::messages::JoinedMember;
use crate::assignor::{self, protocol};
use crate::config::AssignorKind;

/// Every member's subscription. A member whose subscription cannot be read gets nothing,
/// rather than the whole group failing.
pub(super) fn subscriptions(members: &[JoinedMember]) -> Vec<assignor::Member> {
    members
        .iter()
        .map(|m| {
            protocol::decode_subscription(&m.member_id, m.instance_id.as_deref(), &m.metadata)
                .unwrap_or_else(|e| {
                    tracing::warn!(member = %m.member_id, error = %e, "unreadable subscription");
                    assignor::Member {
                        id: m.member_id.to_string(),
                        instance_id: m.instance_id.as_ref().map(ToString::to_string),
                        topics: BTreeSet::new(),
                        owned: Vec::new(),
                        generation: -1,
                    }
                })
        })
        .collect()
}

/// The topics any member subscribes to.
pub(super) fn subscribed_topics(members: &[assignor::Member]) -> BTreeSet<Arc<str>> {
    members
        .iter()
        .flat_map(|m| m.topics.iter().cloned())
        .collect()
}

/// Each member's encoded assignment under `protocol`, from `counts` (every subscribed topic's
/// partition count, 0 for one that does not exist yet, which gets no partitions).
pub(super) fn assign(
    protocol: AssignorKind,
    members: &[assignor::Member],
    counts: &BTreeMap<Arc<str>, i32>,
) -> Result<Vec<(String, Bytes)>, EncodeError> {
    let existing: BTreeMap<Arc<str>, i32> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| (t.clone(), *n))
        .collect();
    let assignment = assignor::assign(protocol, members, &existing);
    tracing::debug!(?assignment, "assigned as leader");
    assignment
        .into_iter()
        .map(|(member, partitions)| Ok((member, protocol::encode_assignment(&partitions)?)))
        .collect()
}
