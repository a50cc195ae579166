//! The round-robin strategy (Java's `RoundRobinAssignor`): every subscribed partition, topics
//! in name order and partitions in number order, goes to the next member in member-id order
//! that subscribes to its topic. With equal subscriptions, counts differ by at most one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::member::{Assignment, Member};
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
