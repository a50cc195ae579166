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

pub(crate) mod protocol;
mod range;
mod round_robin;
mod sticky;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::AssignorKind;
use crate::record::TopicPartition;

/// One member as the leader sees it in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub id: String,
    /// Its static membership id (`group.instance.id`), which orders it before its member id
    /// does, so a restarted static member (new member id) gets its old partitions back.
    pub instance_id: Option<String>,
    /// The topics it subscribes to.
    pub topics: BTreeSet<Arc<str>>,
    /// The partitions it owned before this rebalance (subscription v1+; empty for eager
    /// members).
    pub owned: Vec<TopicPartition>,
    /// The generation its `owned` is from (subscription v2+; -1 if unknown).
    pub generation: i32,
}

/// Each member's partitions, by member id; every member has an entry, perhaps empty.
pub(crate) type Assignment = BTreeMap<String, Vec<TopicPartition>>;

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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn member(id: &str, topics: &[&str]) -> Member {
        Member {
            id: id.to_owned(),
            instance_id: None,
            topics: topics.iter().map(|t| Arc::from(*t)).collect(),
            owned: Vec::new(),
            generation: -1,
        }
    }

    pub(crate) fn counts(topics: &[(&str, i32)]) -> BTreeMap<Arc<str>, i32> {
        topics.iter().map(|(t, n)| (Arc::from(*t), *n)).collect()
    }

    pub(crate) fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    #[test]
    fn every_member_gets_an_entry_even_when_nothing_is_left_for_it() {
        for kind in [
            AssignorKind::Range,
            AssignorKind::RoundRobin,
            AssignorKind::CooperativeSticky,
        ] {
            let members = [
                member("a", &["t"]),
                member("b", &["t"]),
                member("c", &["x"]),
            ];
            let out = assign(kind, &members, &counts(&[("t", 1)]));
            assert_eq!(out.len(), 3, "{kind:?}");
            assert_eq!(out["a"], [tp("t", 0)], "{kind:?}");
            assert!(out["b"].is_empty() && out["c"].is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn static_members_are_ordered_by_instance_id_before_member_ids() {
        // A restarted static member comes back with a new member id that sorts last; by its
        // instance id it keeps its place, and so its partitions.
        let mut first = member("zzz-new-id", &["t"]);
        first.instance_id = Some("host-1".into());
        let mut second = member("aaa", &["t"]);
        second.instance_id = Some("host-2".into());
        let dynamic = member("0-dynamic", &["t"]);
        let out = assign(
            AssignorKind::Range,
            &[dynamic, second, first],
            &counts(&[("t", 3)]),
        );
        assert_eq!(out["zzz-new-id"], [tp("t", 0)]);
        assert_eq!(out["aaa"], [tp("t", 1)]);
        assert_eq!(out["0-dynamic"], [tp("t", 2)]);
    }
}
