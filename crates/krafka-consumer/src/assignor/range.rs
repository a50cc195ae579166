//! The range strategy (Java's `RangeAssignor`): for each topic, its subscribers in member-id
//! order each take a consecutive range of partitions; the first `partitions % subscribers`
//! take one extra. Members subscribed to the same topics get the same partition numbers of
//! each, which suits joins across co-partitioned topics.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Assignment, Member};
use crate::record::TopicPartition;

pub(super) fn assign(members: &[&Member], partitions: &BTreeMap<Arc<str>, i32>) -> Assignment {
    let mut out = Assignment::new();
    for (topic, &count) in partitions {
        let subscribers: Vec<&&Member> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let n = subscribers.len() as i32;
        let (per, extra) = (count / n, count % n);
        for (i, member) in subscribers.iter().enumerate() {
            let i = i as i32;
            let start = i * per + i.min(extra);
            let len = per + i32::from(i < extra);
            out.entry(member.id.clone())
                .or_default()
                .extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{counts, member, tp};
    use super::super::{AssignorKind, assign};

    #[test]
    fn matches_javas_documented_example() {
        // RangeAssignor's javadoc: C0, C1; t0, t1 with 3 partitions each.
        let members = [member("C0", &["t0", "t1"]), member("C1", &["t0", "t1"])];
        let out = assign(
            AssignorKind::Range,
            &members,
            &counts(&[("t0", 3), ("t1", 3)]),
        );
        assert_eq!(
            out["C0"],
            [tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)]
        );
        assert_eq!(out["C1"], [tp("t0", 2), tp("t1", 2)]);
    }

    #[test]
    fn only_subscribers_share_a_topic() {
        let members = [
            member("a", &["t"]),
            member("b", &["t", "u"]),
            member("c", &["u"]),
        ];
        let out = assign(
            AssignorKind::Range,
            &members,
            &counts(&[("t", 5), ("u", 2)]),
        );
        assert_eq!(out["a"], [tp("t", 0), tp("t", 1), tp("t", 2)]);
        assert_eq!(out["b"], [tp("t", 3), tp("t", 4), tp("u", 0)]);
        assert_eq!(out["c"], [tp("u", 1)]);
    }
}
