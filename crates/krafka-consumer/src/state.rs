//! The state the application side and the fetcher task share: per-partition positions and
//! flags, the queue of completed fetches, and the errors waiting for the application.
//!
//! One `parking_lot` mutex guards it. Neither side holds it across an `.await`, and the
//! application takes it once per completed fetch (up to `max_partition_fetch_bytes` of
//! records), never per record: the record currently being handed out lives in the consumer's
//! own drain state (see [`crate::drain`]).
//!
//! Two positions per partition, as in Java: `fetch_offset` is where the fetcher's next request
//! starts, which runs ahead by whatever is buffered; `position` is the next record the
//! application gets. A seek, a reset or a new assignment bumps the partition's `epoch`, and
//! anything fetched under an older epoch is dropped on arrival.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_net::Backoff;
use krafka_protocol::messages::fetch_response::AbortedTransaction;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::ConsumeError;
use crate::group::GroupEvent;
use crate::metrics::ConsumerMetrics;
use crate::record::TopicPartition;

/// Offset lookups back off from 100 ms, doubling to 30 s (with ±20% jitter).
pub(crate) const OFFSET_BACKOFF_BASE: Duration = Duration::from_millis(100);
/// The cap of the offset lookup backoff.
pub(crate) const OFFSET_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Which offset a lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (the last stable offset under read_committed).
    Latest,
}

impl OffsetSpec {
    /// The ListOffsets timestamp that asks for it.
    pub(crate) fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
        }
    }
}

/// One assigned partition.
#[derive(Debug)]
pub(crate) struct PartitionState {
    /// Bumped by every seek, reset and offset lookup result; fetched data carries the epoch it
    /// was requested under and is dropped if it changed.
    pub epoch: u64,
    /// Where the next fetch starts; `None` while the partition has no position.
    pub fetch_offset: Option<i64>,
    /// The next record the application gets (published when a completed fetch is finished;
    /// the consumer's drain state holds the live value meanwhile).
    pub position: Option<i64>,
    /// An offset lookup this partition waits for.
    pub reset: Option<OffsetSpec>,
    /// A lookup is in flight.
    pub resolving: bool,
    /// Not before this instant: the next lookup or fetch after a failure.
    pub retry_at: Option<Instant>,
    /// The lookup backoff (100 ms doubling to 30 s).
    pub offset_backoff: Backoff,
    /// Paused by the application.
    pub paused: bool,
    /// Being revoked by the group: no longer fetched or handed out; the application removes it
    /// at its next `recv`/`poll`.
    pub revoking: bool,
    /// Bytes of completed fetches of this partition not yet drained.
    pub buffered: usize,
    /// A fetch that includes this partition is in flight.
    pub in_flight: bool,
    /// From the last fetch response; -1 before the first.
    pub high_watermark: i64,
    /// From the last fetch response; -1 before the first.
    pub last_stable_offset: i64,
    /// From the last fetch response; -1 before the first.
    pub log_start_offset: i64,
}

impl PartitionState {
    /// A partition without a position, starting at `epoch` (from [`State::next_epoch`], so
    /// that data fetched for an earlier assignment of the same partition never matches).
    pub(crate) fn new(reset: Option<OffsetSpec>, epoch: u64, seed: u64) -> Self {
        Self {
            epoch,
            fetch_offset: None,
            position: None,
            reset,
            resolving: false,
            retry_at: None,
            offset_backoff: Backoff::new(OFFSET_BACKOFF_BASE, OFFSET_BACKOFF_MAX, seed),
            paused: false,
            revoking: false,
            buffered: 0,
            in_flight: false,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
        }
    }
}

/// The records of one partition from one fetch response, not yet handed to the application.
#[derive(Debug)]
pub(crate) struct CompletedFetch {
    pub partition: TopicPartition,
    /// The partition's epoch when the fetch was sent.
    pub epoch: u64,
    /// The offset after the last whole batch: the position once this fetch is drained.
    pub next_offset: i64,
    /// The whole batches, as the broker sent them (a slice of the response frame).
    pub records: Bytes,
    /// The aborted transactions in range (read_committed only).
    pub aborted: Vec<AbortedTransaction>,
}

/// Everything behind the mutex.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub partitions: HashMap<TopicPartition, PartitionState>,
    pub ready: VecDeque<CompletedFetch>,
    pub errors: VecDeque<ConsumeError>,
    /// Sum of every partition's `buffered`.
    pub buffered: usize,
    /// What the group task left for the application, in order.
    pub group_events: VecDeque<GroupEvent>,
    /// Hands out starting epochs for new partition states.
    epochs: u64,
}

impl State {
    /// A fresh epoch for a newly added partition: a multiple of 2^32, far above what seeks and
    /// resets of any earlier assignment of the partition reached.
    pub(crate) fn next_epoch(&mut self) -> u64 {
        self.epochs += 1;
        self.epochs << 32
    }

    /// Drops the queued fetches of `partition` and releases their bytes.
    pub(crate) fn discard_ready(&mut self, partition: &TopicPartition) {
        let mut released = 0;
        self.ready.retain(|f| {
            let keep = f.partition != *partition;
            if !keep {
                released += f.records.len();
            }
            keep
        });
        self.release(partition, released);
    }

    /// Returns `bytes` of `partition`'s buffered data to the budget.
    pub(crate) fn release(&mut self, partition: &TopicPartition, bytes: usize) {
        if let Some(p) = self.partitions.get_mut(partition) {
            p.buffered = p.buffered.saturating_sub(bytes);
        }
        self.buffered = self.buffered.saturating_sub(bytes);
    }

    /// Each assigned partition's share of the prefetch budget.
    pub(crate) fn share(&self, budget: usize) -> usize {
        (budget / self.partitions.len().max(1)).max(1)
    }
}

/// What the consumer and its fetcher task share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// Wakes the fetcher: data drained, seek, assignment, pause, resume, close.
    pub wake_fetcher: Notify,
    /// Wakes the application: a fetch completed or an error is queued.
    pub data_ready: Notify,
    pub closed: AtomicBool,
    pub metrics: ConsumerMetrics,
    /// Bumped by the group task whenever it queues a group event: the application checks it
    /// (one atomic load) at the start of every `recv`/`poll`.
    pub group_changes: AtomicU64,
    /// The application's count of `recv`/`poll` calls, for `max_poll_interval`.
    pub polls: AtomicU64,
    /// Raised by the group task every `auto_commit_interval`; the application commits at its
    /// next `recv`/`poll`, where every record handed out before counts as processed.
    pub commit_due: AtomicBool,
}
