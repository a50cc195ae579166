//! The cooperative sticky strategy (Java's `CooperativeStickyAssignor`): balanced like
//! round-robin, but each member keeps the partitions it owned wherever balance allows, and
//! a partition that must move is only taken from its owner in this rebalance; the members
//! then rebalance again and the new owner gets it. Members therefore keep consuming every
//! partition that does not move.
//!
//! The steps:
//! 1. claims: each member's owned partitions that still exist and that it still subscribes
//!    to; when two members claim one partition the higher generation wins (Java's rule for a
//!    member that missed a rebalance), then the first in member-id order;
//! 2. every unclaimed partition goes to the least loaded member subscribing to its topic,
//!    partitions with the fewest candidate members first;
//! 3. while some member has at least two partitions more than another member that could take
//!    one of them, one moves (step 2 already gave unclaimed partitions to the least loaded, so
//!    what moves here is what a member owned beyond its fair share);
//! 4. cooperative: a partition now given to a member other than its claimant (or than a
//!    member still holding it from a topic it unsubscribed) is left out of this assignment; the claimant sees it gone and revokes it, and the follow-up rebalance
//!    finds it unclaimed and gives it away in step 2.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::member::{Assignment, Member};
use crate::record::TopicPartition;

pub(super) fn assign(members: &[&Member], partitions: &BTreeMap<Arc<str>, i32>) -> Assignment {
    let exists = |tp: &TopicPartition| {
        partitions
            .get(&tp.topic)
            .is_some_and(|&n| (0..n).contains(&tp.partition))
    };
    // 1. Claims. A member still holding a partition of a topic it no longer subscribes to
    // revokes it after this rebalance; until then nobody else may have it.
    let mut claimant: HashMap<TopicPartition, (i32, usize)> = HashMap::new();
    let mut withheld: HashMap<TopicPartition, usize> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        for tp in &m.owned {
            if !exists(tp) {
                continue;
            }
            if !m.topics.contains(&tp.topic) {
                withheld.insert(tp.clone(), i);
                continue;
            }
            match claimant.get(tp) {
                Some(&(generation, _)) if generation >= m.generation => {}
                _ => {
                    claimant.insert(tp.clone(), (m.generation, i));
                }
            }
        }
    }
    let mut held: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); members.len()];
    for (tp, &(_, i)) in &claimant {
        held[i].insert(tp.clone());
    }
    // 2. Unclaimed partitions, those with the fewest candidates first.
    let candidates = |topic: &Arc<str>| -> Vec<usize> {
        (0..members.len())
            .filter(|&i| members[i].topics.contains(topic))
            .collect()
    };
    let mut by_topic: Vec<(Vec<usize>, Arc<str>, i32)> = partitions
        .iter()
        .map(|(topic, &n)| (candidates(topic), topic.clone(), n))
        .filter(|(c, _, _)| !c.is_empty())
        .collect();
    by_topic.sort_by_key(|(c, topic, _)| (c.len(), topic.clone()));
    for (eligible, topic, count) in &by_topic {
        for p in 0..*count {
            let tp = TopicPartition::new(topic.clone(), p);
            if claimant.contains_key(&tp) {
                continue;
            }
            let least = eligible.iter().copied().min_by_key(|&i| (held[i].len(), i));
            if let Some(i) = least {
                held[i].insert(tp);
            }
        }
    }
    // 3. Balance.
    let topic_candidates: HashMap<Arc<str>, Vec<usize>> = by_topic
        .into_iter()
        .map(|(c, topic, _)| (topic, c))
        .collect();
    while let Some((from, to, tp)) = next_move(members, &held, &topic_candidates) {
        held[from].remove(&tp);
        held[to].insert(tp);
    }
    // 4. Cooperative: a partition changing hands is only revoked this time.
    let mut out = Assignment::new();
    for (i, partitions) in held.into_iter().enumerate() {
        let keep: Vec<TopicPartition> = partitions
            .into_iter()
            .filter(|tp| claimant.get(tp).is_none_or(|&(_, owner)| owner == i))
            .filter(|tp| withheld.get(tp).is_none_or(|&owner| owner == i))
            .collect();
        out.insert(members[i].id.clone(), keep);
    }
    out
}

/// A partition to move from a member to one with at least two fewer that can take it, or
/// `None` when the assignment is as balanced as the subscriptions allow.
fn next_move(
    members: &[&Member],
    held: &[BTreeSet<TopicPartition>],
    candidates: &HashMap<Arc<str>, Vec<usize>>,
) -> Option<(usize, usize, TopicPartition)> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(held[i].len()), i));
    for &from in &order {
        let load = held[from].len();
        if load < 2 {
            break;
        }
        for tp in held[from].iter().rev() {
            let Some(eligible) = candidates.get(&tp.topic) else {
                continue;
            };
            let to = eligible
                .iter()
                .copied()
                .filter(|&i| i != from && held[i].len() + 2 <= load)
                .min_by_key(|&i| (held[i].len(), i));
            if let Some(to) = to {
                return Some((from, to, tp.clone()));
            }
        }
    }
    None
}
