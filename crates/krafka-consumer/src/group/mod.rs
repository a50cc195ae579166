//! Consumer-group membership (Kafka's classic protocol), run by one background task per
//! consumer that has a `group_id`.
//!
//! - [`member`]: the member itself, a state machine without I/O or clock: it decides when to
//!   find the coordinator, join and sync (the leader runs an [`assignor`](crate::assignor)),
//!   heartbeat, revoke, commit and fetch offsets, and leave;
//! - [`coordinator`]: the task, its thin async driver: it sends what the member asks for on a
//!   connection of its own, feeds answers, commands and timer expiries back, and carries out
//!   the member's events on the state shared with the fetcher and the application;
//! - [`requests`]: the wire side of each request.
//!
//! **Why a connection of its own.** A broker answers one connection's requests in order and
//! holds a JoinGroup until every member has joined. If two consumers of one group shared a
//! connection, the first one's JoinGroup would hold back the second one's, and the rebalance
//! would wait out its timeout. So each member dials its coordinator itself, as each Java
//! consumer does; heartbeats never queue behind fetches either.
//!
//! **Who does what.** The task never touches what the application is handing out. It asks:
//! a revocation is an event the application task runs at the start of its next `recv`/`poll`
//! (as Java runs rebalance callbacks inside `poll`), so the offsets committed for a revoked
//! partition are exactly those of the records the application has already been given and
//! come back for more. The [`RebalanceListener`] runs there too. Assigned partitions are added
//! to the fetcher by the task, with their committed offsets, so fetching starts at once.
//!
//! **Liveness.** Heartbeats keep the member in the group however slow the application is,
//! up to `max_poll_interval` between two `recv`/`poll` calls (time spent waiting inside one
//! for records counts as polling: a waiting application is woken to prove it). Past that the
//! member leaves the group, as Java's does, and rejoins at the next call.

pub(crate) mod coordinator;
pub(crate) mod member;
pub(crate) mod requests;

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::error::ConsumeError;
use crate::record::TopicPartition;

/// Offsets to commit: (partition, the offset of the next record to consume).
pub(crate) type Offsets = Vec<(TopicPartition, i64)>;

/// What the application task asks of the coordinator task.
pub(crate) enum Command {
    /// Replace the subscription (empty: unsubscribe, which leaves the group).
    Subscribe(std::collections::BTreeSet<std::sync::Arc<str>>),
    /// Commit; `reply` (if any) hears how it went.
    Commit {
        offsets: Offsets,
        reply: Option<oneshot::Sender<Result<(), ConsumeError>>>,
    },
    /// Look up committed offsets.
    Committed {
        partitions: Vec<TopicPartition>,
        reply: oneshot::Sender<Result<HashMap<TopicPartition, Option<i64>>, ConsumeError>>,
    },
    /// The application has given up the partitions of revocation `id`; commit `commit` first.
    Revoked { id: u64, commit: Offsets },
    /// Commit `commit`, leave the group and stop.
    Close {
        commit: Offsets,
        reply: oneshot::Sender<()>,
    },
}

/// What the coordinator task leaves for the application task, in order.
#[derive(Debug)]
pub(crate) enum GroupEvent {
    /// Give these partitions up (run the listener, commit, stop handing them out) and answer
    /// with [`Command::Revoked`].
    Revoke {
        id: u64,
        partitions: Vec<TopicPartition>,
    },
    /// These partitions were assigned (already added to the fetcher).
    Assigned(Vec<TopicPartition>),
    /// These partitions were lost (already removed): the member fell out of the group.
    Lost(Vec<TopicPartition>),
}

/// Hooks run when the assignment changes (Java's `ConsumerRebalanceListener`).
///
/// They run on the application's task, inside `recv`/`poll` (or `close`), before records of
/// the new assignment are handed out, so they may touch whatever the application owns.
pub trait RebalanceListener: Send {
    /// `partitions` are about to be given to another member. `offsets` says what will be
    /// committed for them before they go: with auto-commit on it holds the consumer's positions
    /// (every record handed out counts as processed); with it off it starts empty. Add or
    /// replace entries to commit what the application has really processed.
    fn on_partitions_revoked(
        &mut self,
        partitions: &[TopicPartition],
        offsets: &mut RevokedOffsets,
    ) {
        let _ = (partitions, offsets);
    }

    /// `partitions` were added to the assignment; records from them follow.
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        let _ = partitions;
    }

    /// `partitions` were lost without a chance to commit: the member was removed from the
    /// group (session timeout, poll timeout, fencing) and they may already belong to another
    /// member. Java's default runs [`on_partitions_revoked`](Self::on_partitions_revoked);
    /// here the default does nothing, since no commit can be made for them any more.
    fn on_partitions_lost(&mut self, partitions: &[TopicPartition]) {
        let _ = partitions;
    }
}

/// The offsets committed for partitions being revoked (see
/// [`RebalanceListener::on_partitions_revoked`]).
#[derive(Debug, Default)]
pub struct RevokedOffsets {
    positions: Offsets,
    commit: Offsets,
}

impl RevokedOffsets {
    pub(crate) fn new(positions: Offsets, commit_positions: bool) -> Self {
        let commit = if commit_positions {
            positions.clone()
        } else {
            Vec::new()
        };
        Self { positions, commit }
    }

    /// The consumer's position of each revoked partition that has one: the next offset it
    /// would have handed out.
    pub fn positions(&self) -> &[(TopicPartition, i64)] {
        &self.positions
    }

    /// What will be committed.
    pub fn to_commit(&self) -> &[(TopicPartition, i64)] {
        &self.commit
    }

    /// Commits `offset` (the next record to consume) for `partition`, replacing any entry.
    pub fn commit(&mut self, partition: TopicPartition, offset: i64) {
        match self.commit.iter_mut().find(|(p, _)| *p == partition) {
            Some(entry) => entry.1 = offset,
            None => self.commit.push((partition, offset)),
        }
    }

    /// Commits nothing for `partition`.
    pub fn skip(&mut self, partition: &TopicPartition) {
        self.commit.retain(|(p, _)| p != partition);
    }

    pub(crate) fn into_commit(self) -> Offsets {
        self.commit
    }
}
