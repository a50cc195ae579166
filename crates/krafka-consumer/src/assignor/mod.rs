//! Partition assignment for consumer groups (the classic protocol): the group leader turns
//! every member's subscription into each member's partitions, with one of Java's three
//! strategies, so that a group may mix Krafka and Java or librdkafka members.
//!
//! - [`range`]: per topic, consecutive ranges of partitions (Java's `RangeAssignor`);
//! - [`round_robin`]: all partitions dealt out one at a time (Java's `RoundRobinAssignor`);
//! - [`sticky`]: balanced, keeping each member's partitions where it can, and cooperative:
//!   a partition moving between members is first only revoked, and assigned in the follow-up
//!   rebalance (Java's `CooperativeStickyAssignor`).
//!
//! [`protocol`] encodes the subscription and assignment bytes members exchange in JoinGroup and
//! SyncGroup (Kafka's `ConsumerProtocolSubscription` and `ConsumerProtocolAssignment`).
//!
//! Members are ordered as Java orders them wherever order matters (static members by instance
//! id first, then the rest by member id), so every leader computes the same assignment from the
//! same input.

mod member;
pub(crate) mod protocol;
mod range;
mod round_robin;
mod sticky;

use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use self::member::{Assignment, Member};
use crate::config::AssignorKind;

/// Assigns `partitions` (each subscribed topic's partition count, from metadata) to `members`
/// with `kind`. Topics metadata does not know are left out.
pub(crate) fn assign(
    kind: AssignorKind,
    members: &[Member],
    partitions: &BTreeMap<Arc<str>, i32>,
) -> Assignment {
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |m: &Member| (m.instance_id.is_none(), m.instance_id.clone(), m.id.clone());
        key(a).cmp(&key(b))
    });
    let mut assignment = match kind {
        AssignorKind::Range => range::assign(&sorted, partitions),
        AssignorKind::RoundRobin => round_robin::assign(&sorted, partitions),
        AssignorKind::CooperativeSticky => sticky::assign(&sorted, partitions),
    };
    for member in members {
        assignment.entry(member.id.clone()).or_default();
    }
    for owned in assignment.values_mut() {
        owned.sort();
    }
    assignment
}

#[cfg(test)]
mod tests;
