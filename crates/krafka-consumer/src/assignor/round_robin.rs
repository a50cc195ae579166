//! The round-robin strategy (Java's `RoundRobinAssignor`): every subscribed partition, topics
//! in name order and partitions in number order, goes to the next member in member-id order
//! that subscribes to its topic. With equal subscriptions, counts differ by at most one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Assignment, Member};
use crate::record::TopicPartition;

pub(super) fn assign(members: &[&Member], partitions: &BTreeMap<Arc<str>, i32>) -> Assignment {
    let mut out = Assignment::new();
    if members.is_empty() {
        return out;
    }
    let mut next = 0usize;
    for (topic, &count) in partitions {
        if !members.iter().any(|m| m.topics.contains(topic)) {
            continue;
        }
        for p in 0..count.max(0) {
            // Some member subscribes, so this finds one within a lap.
            while !members[next % members.len()].topics.contains(topic) {
                next += 1;
            }
            let member = members[next % members.len()];
            out.entry(member.id.clone())
                .or_default()
                .push(TopicPartition::new(topic.clone(), p));
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{counts, member, tp};
    use super::super::{AssignorKind, assign};

    #[test]
    fn matches_javas_documented_examples() {
        // RoundRobinAssignor's javadoc, first example: C0, C1; t0, t1 with 3 partitions each.
        let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
        let out = assign(
            AssignorKind::RoundRobin,
            &members,
            &counts(&[("t0", 3), ("t1", 3)]),
        );
        assert_eq!(out["C0"], [tp("t0", 0), tp("t0", 2), tp("t1", 1)]);
        assert_eq!(out["C1"], [tp("t0", 1), tp("t1", 0), tp("t1", 2)]);
        // Second example: C0 on t0; C1 on t0, t1; C2 on t0, t1, t2 (1, 2, 3 partitions).
        let members = [
            member("C0", &["t0"]),
            member("C1", &["t0", "t1"]),
            member("C2", &["t0", "t1", "t2"]),
        ];
        let out = assign(
            AssignorKind::RoundRobin,
            &members,
            &counts(&[("t0", 1), ("t1", 2), ("t2", 3)]),
        );
        assert_eq!(out["C0"], [tp("t0", 0)]);
        assert_eq!(out["C1"], [tp("t1", 0)]);
        assert_eq!(
            out["C2"],
            [tp("t1", 1), tp("t2", 0), tp("t2", 1), tp("t2", 2)]
        );
    }
}
