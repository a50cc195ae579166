//! What the member holds in its generation: the partitions it owns, those among them not yet
//! handed to the fetcher (their committed offsets are still to be looked up), and the
//! revocation the application has been asked for. Plain bookkeeping, no I/O.

use std::collections::{BTreeSet, HashMap};

use crate::record::TopicPartition;

/// A revocation the application has been asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revocation {
    pub id: u64,
    pub partitions: Vec<TopicPartition>,
    /// The application answered; its commit is queued or in flight.
    pub answered: bool,
}

/// The partitions of the current generation.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    /// Every partition the current generation gave this member.
    owned: BTreeSet<TopicPartition>,
    /// Owned partitions whose committed offsets are still to be looked up.
    pending: BTreeSet<TopicPartition>,
    last_revocation: u64,
}

impl Holdings {
    pub(crate) fn owned(&self) -> &BTreeSet<TopicPartition> {
        &self.owned
    }

    pub(crate) fn owned_list(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    pub(crate) fn pending(&self) -> Vec<TopicPartition> {
        self.pending.iter().cloned().collect()
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes a new assignment: what is new becomes owned (and pending), and what went away
    /// is returned, still owned until revoked.
    pub(crate) fn take(
        &mut self,
        assigned: &BTreeSet<TopicPartition>,
    ) -> (Vec<TopicPartition>, usize) {
        let revoked: Vec<TopicPartition> = self.owned.difference(assigned).cloned().collect();
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        let count = added.len();
        self.owned.extend(added.iter().cloned());
        self.pending.extend(added);
        (revoked, count)
    }

    /// A revocation of those of `partitions` the application holds; the ones never handed
    /// out are simply dropped. `None` when there is nothing to ask for.
    pub(crate) fn revoke(&mut self, partitions: Vec<TopicPartition>) -> Option<Revocation> {
        let (held, never_handed_out): (Vec<_>, Vec<_>) = partitions
            .into_iter()
            .filter(|tp| self.owned.contains(tp))
            .partition(|tp| !self.pending.contains(tp));
        for tp in &never_handed_out {
            self.pending.remove(tp);
            self.owned.remove(tp);
        }
        if held.is_empty() {
            return None;
        }
        self.last_revocation += 1;
        Some(Revocation {
            id: self.last_revocation,
            partitions: held,
            answered: false,
        })
    }

    /// The application gave `revocation`'s partitions up.
    pub(crate) fn give_up(&mut self, revocation: &Revocation) {
        for tp in &revocation.partitions {
            self.owned.remove(tp);
        }
    }

    /// The committed offsets of `partitions` arrived: those still pending are handed out.
    pub(crate) fn hand_out(
        &mut self,
        partitions: Vec<TopicPartition>,
        committed: &HashMap<TopicPartition, Option<i64>>,
    ) -> Vec<(TopicPartition, Option<i64>)> {
        partitions
            .into_iter()
            .filter(|tp| self.pending.remove(tp))
            .map(|tp| {
                let offset = committed.get(&tp).copied().flatten();
                (tp, offset)
            })
            .collect()
    }

    /// Everything is lost (no commit can be made for it); returns what was owned.
    pub(crate) fn lose_all(&mut self) -> Vec<TopicPartition> {
        self.pending.clear();
        std::mem::take(&mut self.owned).into_iter().collect()
    }
}
