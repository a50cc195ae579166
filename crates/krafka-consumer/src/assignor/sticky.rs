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

use super::{Assignment, Member};
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::tests::{counts, member, tp};
    use super::super::{Assignment, AssignorKind, Member, assign};
    use crate::record::TopicPartition;

    fn sticky(members: &[Member], topics: &BTreeMap<std::sync::Arc<str>, i32>) -> Assignment {
        assign(AssignorKind::CooperativeSticky, members, topics)
    }

    /// Members as they join the next rebalance: owning what they were given.
    fn next_round(members: &[Member], given: &Assignment, generation: i32) -> Vec<Member> {
        members
            .iter()
            .map(|m| Member {
                owned: given.get(&m.id).cloned().unwrap_or_default(),
                generation,
                ..m.clone()
            })
            .collect()
    }

    fn all_assigned(given: &Assignment) -> Vec<TopicPartition> {
        let mut all: Vec<TopicPartition> = given.values().flatten().cloned().collect();
        all.sort();
        all
    }

    #[test]
    fn a_new_member_takes_partitions_in_two_rounds_while_the_others_keep_the_rest() {
        let topics = counts(&[("t", 6)]);
        let one = [member("a", &["t"])];
        let first = sticky(&one, &topics);
        assert_eq!(first["a"].len(), 6);
        // b joins. Round 1: a keeps three and only gives up the others; b gets nothing yet.
        let two = next_round(&[member("a", &["t"]), member("b", &["t"])], &first, 1);
        let round1 = sticky(&two, &topics);
        assert_eq!(round1["a"].len(), 3);
        assert!(round1["b"].is_empty(), "{round1:?}");
        assert!(round1["a"].iter().all(|tp| first["a"].contains(tp)));
        // Round 2: the revoked three are unclaimed and go to b.
        let again = next_round(&two, &round1, 2);
        let round2 = sticky(&again, &topics);
        assert_eq!(round2["a"], round1["a"]);
        assert_eq!(round2["b"].len(), 3);
        assert_eq!(all_assigned(&round2).len(), 6);
    }

    #[test]
    fn a_departed_members_partitions_go_to_the_others_at_once() {
        let topics = counts(&[("t", 6)]);
        let mut a = member("a", &["t"]);
        a.owned = vec![tp("t", 0), tp("t", 1)];
        a.generation = 3;
        let mut b = member("b", &["t"]);
        b.owned = vec![tp("t", 2), tp("t", 3)];
        b.generation = 3;
        // c, which held 4 and 5, is gone: nobody claims them, so nothing waits for a revoke.
        let out = sticky(&[a, b], &topics);
        assert_eq!(out["a"].len(), 3);
        assert_eq!(out["b"].len(), 3);
        assert!(out["a"].starts_with(&[tp("t", 0), tp("t", 1)]));
        assert!(out["b"].starts_with(&[tp("t", 2), tp("t", 3)]));
    }

    #[test]
    fn a_partition_of_an_unsubscribed_topic_moves_only_after_its_holder_lets_go() {
        let topics = counts(&[("t", 1), ("u", 1)]);
        let mut a = member("a", &["u"]);
        a.owned = vec![tp("t", 0)];
        a.generation = 4;
        let b = member("b", &["t"]);
        let round1 = sticky(&[a.clone(), b.clone()], &topics);
        assert_eq!(round1["a"], [tp("u", 0)]);
        assert!(round1["b"].is_empty(), "a still consumes t-0: {round1:?}");
        let round2 = sticky(&next_round(&[a, b], &round1, 5), &topics);
        assert_eq!(round2["b"], [tp("t", 0)]);
    }

    #[test]
    fn the_higher_generation_wins_a_disputed_partition() {
        let topics = counts(&[("t", 2)]);
        let mut stale = member("a", &["t"]);
        stale.owned = vec![tp("t", 0)];
        stale.generation = 1;
        let mut current = member("b", &["t"]);
        current.owned = vec![tp("t", 0)];
        current.generation = 2;
        let out = sticky(&[stale, current], &topics);
        assert_eq!(out["b"], [tp("t", 0)]);
        assert_eq!(out["a"], [tp("t", 1)]);
    }

    #[test]
    fn unequal_subscriptions_are_balanced_within_what_each_may_take() {
        let topics = counts(&[("t", 4), ("u", 4)]);
        let members = [member("a", &["t"]), member("b", &["t", "u"])];
        let out = sticky(&members, &topics);
        assert_eq!(out["a"].len(), 4, "{out:?}");
        assert_eq!(out["b"].iter().filter(|tp| &*tp.topic == "u").count(), 4);
    }

    fn scenario() -> impl Strategy<Value = (Vec<Member>, BTreeMap<std::sync::Arc<str>, i32>)> {
        let topics = prop::collection::vec(1i32..12, 1..4);
        let members = prop::collection::vec(prop::collection::vec(any::<bool>(), 3), 1..7);
        (topics, members).prop_map(|(topics, members)| {
            let names = ["t0", "t1", "t2"];
            let counts: BTreeMap<std::sync::Arc<str>, i32> = topics
                .iter()
                .enumerate()
                .map(|(i, n)| (std::sync::Arc::from(names[i]), *n))
                .collect();
            let members = members
                .iter()
                .enumerate()
                .map(|(i, picks)| {
                    let subscribed: Vec<&str> = names[..topics.len()]
                        .iter()
                        .zip(picks)
                        .filter(|(_, pick)| **pick)
                        .map(|(n, _)| *n)
                        .collect();
                    // Everyone subscribes to something.
                    let subscribed = if subscribed.is_empty() {
                        vec!["t0"]
                    } else {
                        subscribed
                    };
                    member(&format!("m{i}"), &subscribed)
                })
                .collect();
            (members, counts)
        })
    }

    proptest! {
        /// Over rebalances after a member leaves: nobody gets a partition another member still
        /// owns, nobody gets a topic it does not subscribe to, no partition has two members,
        /// members keep their partitions up to their fair share, follow-up rounds reach an
        /// assignment of every partition, and equal subscriptions end within one partition of
        /// each other.
        #[test]
        fn rebalances_are_valid_sticky_cooperative_and_converge(
            (members, topics) in scenario(),
            leave in 0usize..7,
        ) {
            let first = sticky(&members, &topics);
            let mut current = next_round(&members, &first, 1);
            if current.len() > 1 {
                current.remove(leave % current.len());
            }
            let equal = current.iter().all(|m| m.topics == current[0].topics);
            let expected: usize = topics
                .iter()
                .filter(|(t, _)| current.iter().any(|m| m.topics.contains(*t)))
                .map(|(_, n)| *n as usize)
                .sum();
            let mut converged = None;
            for round in 0..5 {
                let given = sticky(&current, &topics);
                for m in &current {
                    for tp in &given[&m.id] {
                        prop_assert!(m.topics.contains(&tp.topic));
                        let owner = current.iter().find(|o| o.owned.contains(tp));
                        prop_assert!(
                            owner.is_none_or(|o| o.id == m.id),
                            "{tp} given to {} while {} owns it", m.id, owner.map_or("", |o| &o.id)
                        );
                    }
                    if equal && round == 0 {
                        let fair = expected / current.len();
                        let kept = m.owned.iter().filter(|tp| given[&m.id].contains(tp)).count();
                        prop_assert!(kept >= m.owned.len().min(fair), "{} kept {kept} of {:?}", m.id, m.owned);
                    }
                }
                let all = all_assigned(&given);
                let mut unique = all.clone();
                unique.dedup();
                prop_assert_eq!(&unique, &all, "a partition went to two members");
                if all.len() == expected {
                    converged = Some(given);
                    break;
                }
                current = next_round(&current, &given, 2 + round);
            }
            let Some(last) = converged else {
                return Err(TestCaseError::fail("no full assignment within 5 rebalances"));
            };
            if equal {
                let loads: Vec<usize> = last.values().map(Vec::len).collect();
                let (min, max) = (loads.iter().min(), loads.iter().max());
                prop_assert!(max.zip(min).is_none_or(|(max, min)| max - min <= 1), "{last:?}");
            }
        }
    }
}
