//! The assignors' tests: each strategy through the leader's entry point, [`assign`].

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Member, assign};
use crate::config::AssignorKind;
use crate::record::TopicPartition;

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

/// The range strategy.
mod range {
    use super::{counts, member, tp};
    use crate::assignor::assign;
    use crate::config::AssignorKind;

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

/// The round-robin strategy.
mod round_robin {
    use super::{counts, member, tp};
    use crate::assignor::assign;
    use crate::config::AssignorKind;

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

/// The sticky strategy.
mod sticky {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{counts, member, tp};
    use crate::assignor::{Assignment, Member, assign};
    use crate::config::AssignorKind;
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
