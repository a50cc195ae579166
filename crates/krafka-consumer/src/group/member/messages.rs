//! What the group member and its driver say to each other: the requests the member asks for,
//! the answers fed back, the application's commands and the events the member leaves for the
//! application and the fetcher. Plain data, no behaviour.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use krafka_net::NetError;
use krafka_protocol::{ErrorCode, StrBytes};

use crate::error::ConsumeError;
use crate::group::Offsets;
use crate::record::TopicPartition;

/// Who is asking: the group and this member's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub group: StrBytes,
    /// Empty until the coordinator gives one.
    pub member_id: StrBytes,
    /// -1 outside a generation.
    pub generation: i32,
    pub instance_id: Option<StrBytes>,
}

/// One member of a JoinGroup answer.
#[derive(Debug, Clone)]
pub(crate) struct JoinedMember {
    pub member_id: StrBytes,
    pub instance_id: Option<StrBytes>,
    pub metadata: Bytes,
}

/// A JoinGroup answer.
#[derive(Debug, Clone)]
pub(crate) struct JoinAnswer {
    pub error: ErrorCode,
    pub member_id: StrBytes,
    pub generation: i32,
    pub protocol_name: Option<StrBytes>,
    pub leader: StrBytes,
    /// Every member with its subscription (the leader's answer only).
    pub members: Vec<JoinedMember>,
}

/// A request for the driver to send, tagged with the id its answer must carry.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub id: u64,
    pub request: Request,
}

/// What the member asks the driver to send.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// Find the group's coordinator and dial it; `seed` picks the broker asked.
    FindCoordinator {
        seed: usize,
    },
    Join {
        identity: Identity,
        /// (assignor name, subscription bytes), in preference order.
        protocols: Vec<(&'static str, Bytes)>,
        session_timeout: Duration,
        rebalance_timeout: Duration,
    },
    /// Refresh metadata for `topics` and answer each one's partition count.
    Metadata {
        topics: BTreeSet<Arc<str>>,
    },
    Sync {
        identity: Identity,
        protocol: &'static str,
        assignments: Vec<(String, Bytes)>,
    },
    Heartbeat {
        identity: Identity,
    },
    Commit {
        identity: Identity,
        offsets: Offsets,
    },
    FetchOffsets {
        identity: Identity,
        partitions: Vec<TopicPartition>,
        require_stable: bool,
    },
    Leave {
        identity: Identity,
        reason: &'static str,
    },
}

/// The answer to an [`Outgoing`] request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The coordinator's node id (dialled), or the broker's refusal.
    Coordinator(Result<Result<i32, ErrorCode>, NetError>),
    Joined(Result<JoinAnswer, NetError>),
    /// Each requested topic's partition count (0: unknown or in error).
    Metadata(BTreeMap<Arc<str>, i32>),
    Synced(Result<(ErrorCode, Bytes), NetError>),
    Heartbeat(Result<ErrorCode, NetError>),
    /// Each partition's error code.
    Committed(Result<Vec<(TopicPartition, ErrorCode)>, NetError>),
    Offsets(Result<Result<HashMap<TopicPartition, Option<i64>>, ErrorCode>, NetError>),
    Left(Result<ErrorCode, NetError>),
}

/// An application command (replies go to the driver's `token`).
#[derive(Debug)]
pub(crate) enum Input {
    Subscribe(BTreeSet<Arc<str>>),
    /// `token: None` for an auto-commit, which nobody waits for.
    Commit {
        offsets: Offsets,
        token: Option<u64>,
    },
    Committed {
        partitions: Vec<TopicPartition>,
        token: u64,
    },
    Revoked {
        id: u64,
        commit: Offsets,
    },
    Close {
        commit: Offsets,
        token: Option<u64>,
    },
}

/// What the member tells the driver, in order.
#[derive(Debug)]
pub(crate) enum Event {
    /// Add these topics to the metadata the client keeps.
    WatchTopics(Vec<Arc<str>>),
    /// Hand these partitions to the fetcher (at the committed offset; `None`: where
    /// `auto_offset_reset` says) and tell the application they were assigned.
    Assign(Vec<(TopicPartition, Option<i64>)>),
    /// Ask the application to give these partitions up and answer [`Input::Revoked`].
    Revoke {
        id: u64,
        partitions: Vec<TopicPartition>,
    },
    /// These partitions were lost without a commit: drop them, void a revocation the
    /// application has not run, tell it.
    Lose(Vec<TopicPartition>),
    /// Report this error to the application.
    Error(ConsumeError),
    /// Auto-commit is due: the application commits at its next poll.
    CommitDue,
    /// Wake an application waiting for records, so that it counts a poll.
    WakeApplication,
    CommitDone {
        token: u64,
        result: Result<(), ConsumeError>,
    },
    LookupDone {
        token: u64,
        result: Result<HashMap<TopicPartition, Option<i64>>, ConsumeError>,
    },
    /// Close the coordinator connection (what is in flight on it is abandoned).
    DropCoordinator,
    Metric(Metric),
    /// Done: the close is complete for everyone waiting on it.
    Closed {
        tokens: Vec<u64>,
    },
}

/// Counters for the consumer's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Heartbeat,
    Rebalanced,
    Committed(u64),
    CommitFailed,
}
