//! Consumer-group state the coordinator keeps: which broker coordinates each group, and the
//! offsets groups commit.
//!
//! The coordinator of a group is a stable hash of its id over the brokers that are up (Kafka
//! uses the leader of the group's `__consumer_offsets` partition), unless a test pins it with
//! [`crate::MockCluster::set_coordinator`]. Membership itself is [`crate::membership`].

use std::collections::HashMap;

use parking_lot::Mutex;

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The offset of the next record the group will consume.
    pub offset: i64,
    /// The leader epoch of the last consumed record, or -1.
    pub leader_epoch: i32,
    /// The metadata string the member attached.
    pub metadata: String,
}

/// Coordinators and committed offsets.
#[derive(Debug, Default)]
pub struct Groups {
    pinned: Mutex<HashMap<String, i32>>,
    offsets: Mutex<HashMap<(String, String, i32), Committed>>,
}

/// FNV-1a: a stable hash, so a group keeps its coordinator across runs.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Groups {
    /// The node id coordinating `group`, given the node ids that are up; `None` when none is.
    pub fn coordinator(&self, group: &str, up: &[i32]) -> Option<i32> {
        if let Some(node) = self.pinned.lock().get(group) {
            return Some(*node);
        }
        let index = usize::try_from(stable_hash(group) % (up.len().max(1) as u64)).ok()?;
        up.get(index).copied()
    }

    /// Pins `group`'s coordinator to `node_id`.
    pub fn pin(&self, group: &str, node_id: i32) {
        self.pinned.lock().insert(group.to_string(), node_id);
    }

    /// Stores a commit.
    pub fn commit(&self, group: &str, topic: &str, partition: i32, committed: Committed) {
        self.offsets
            .lock()
            .insert((group.to_string(), topic.to_string(), partition), committed);
    }

    /// A committed offset.
    pub fn committed(&self, group: &str, topic: &str, partition: i32) -> Option<Committed> {
        self.offsets
            .lock()
            .get(&(group.to_string(), topic.to_string(), partition))
            .cloned()
    }

    /// The groups that have committed offsets.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .offsets
            .lock()
            .keys()
            .map(|(g, _, _)| g.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every partition `group` has committed, as (topic, partition, offset).
    pub fn all_committed(&self, group: &str) -> Vec<(String, i32, Committed)> {
        let mut all: Vec<_> = self
            .offsets
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .map(|((_, t, p), c)| (t.clone(), *p, c.clone()))
            .collect();
        all.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        all
    }
}
