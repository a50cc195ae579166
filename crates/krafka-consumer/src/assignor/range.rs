//! The range strategy (Java's `RangeAssignor`): for each topic, its subscribers in member-id
//! order each take a consecutive range of partitions; the first `partitions % subscribers`
//! take one extra. Members subscribed to the same topics get the same partition numbers of
//! each, which suits joins across co-partitioned topics.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::member::{Assignment, Member};
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
