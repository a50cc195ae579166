//! The vocabulary every assignor speaks: a member as the leader sees it, and the assignment
//! it computes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
