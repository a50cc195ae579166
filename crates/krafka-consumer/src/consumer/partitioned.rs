//! [`Consumer::process_partitioned`]: records processed by an async handler with bounded
//! concurrency, in order within each partition, committing only what is done.
//!
//! - **Order.** A partition has at most one record in the handler; its next record starts when
//!   that one finishes. Different partitions run side by side, up to `max_in_flight`.
//! - **Commits.** A partition's committable offset is the one after its last finished record
//!   (all before it finished too, since they ran in order). Auto-commit, revocations and
//!   `close` commit these instead of positions; with auto-commit off the helper commits them
//!   itself every `auto_commit_interval`.
//! - **Memory.** At most [`PARTITION_QUEUE`] records are staged per partition (and that many
//!   per slot in all). The rest of a partition's fetched data is set aside ("parked": kept,
//!   not dropped or fetched again) while the others go on, and stays charged to the prefetch
//!   budget, so the fetcher stops fetching it: a slow handler slows fetching, not the heap.
//! - **Revocations.** Before the group takes partitions away, the helper stops starting their
//!   records, drops their queued ones and waits for those in the handler to finish, so the
//!   revocation commits everything that was processed.
//! - **Stopping.** On the shutdown signal or a handler error the helper lets running records
//!   finish, then moves each partition's position back to its first unprocessed record, so
//!   whatever comes next (`recv`, another run, or `close`'s commit) skips nothing.
//!
//! Running a record allocates nothing: handler futures live in [`Slots`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::time::Instant;

use super::handle::{Consumer, Processed};
use crate::drain::Drain;
use crate::error::ConsumeError;
use crate::record::{ConsumerRecord, TopicPartition};
use crate::slots::Slots;

/// Records staged per partition before its fetched data is set aside. Small on purpose: the
/// set-aside data stays where it is (nothing is copied or fetched again), and small stages
/// let records of many partitions wait side by side, so every slot finds work.
pub const PARTITION_QUEUE: usize = 16;

/// Why [`Consumer::process_partitioned`] stopped.
#[derive(Debug)]
pub enum ProcessError<E> {
    /// The consumer failed (see [`ConsumeError`]).
    Consume(ConsumeError),
    /// The handler failed on a record; it and everything after it in its partition are
    /// delivered again (by the next run, or to the partition's next owner).
    Handler {
        /// The record's partition.
        partition: TopicPartition,
        /// The record's offset.
        offset: i64,
        /// What the handler said.
        error: E,
    },
}

impl<E: fmt::Display> fmt::Display for ProcessError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::Consume(e) => write!(f, "{e}"),
            ProcessError::Handler {
                partition,
                offset,
                error,
            } => write!(
                f,
                "the handler failed on {partition} at offset {offset}: {error}"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ProcessError<E> {}

/// The helper's bookkeeping for one run.
struct Run {
    /// Handed out by the consumer, not yet started, per partition.
    queued: HashMap<TopicPartition, VecDeque<ConsumerRecord>>,
    queued_total: usize,
    /// Partitions with a record in the handler.
    busy: HashSet<TopicPartition>,
    /// Drains set aside because their partition's queue was full, oldest first.
    parked: HashMap<TopicPartition, VecDeque<Drain>>,
    /// The first offset this run received per partition (where to go back to if nothing was
    /// finished).
    first: HashMap<TopicPartition, i64>,
    /// Whether the consumer's current drain came off the parked list (it is then its
    /// partition's oldest, and goes back to the front if parked again). Kept across fills,
    /// since the current drain is.
    unparked: bool,
    processed: Processed,
}

impl Run {
    fn room(&self, tp: &TopicPartition) -> usize {
        PARTITION_QUEUE.saturating_sub(self.queued.get(tp).map_or(0, VecDeque::len))
    }

    fn queue(&mut self, record: ConsumerRecord) {
        let tp = TopicPartition::new(Arc::clone(record.topic_arc()), record.partition());
        self.first.entry(tp.clone()).or_insert(record.offset());
        self.queued.entry(tp).or_default().push_back(record);
        self.queued_total += 1;
    }

    fn forget(&mut self, tp: &TopicPartition) -> usize {
        let dropped = self.queued.remove(tp).map_or(0, |q| q.len());
        self.queued_total -= dropped;
        dropped
    }
}

impl Consumer {
    /// Processes every record with `handler`, at most `max_in_flight` at a time, in order within
    /// each partition, committing only offsets whose records (and all before them) are done.
    /// Runs until the handler fails or the consumer does; see
    /// [`process_partitioned_until`](Self::process_partitioned_until) to stop it on a signal.
    ///
    /// For a handler that calls a blocking store, wrap the call in
    /// `tokio::task::spawn_blocking` (see `examples/partitioned_blocking_store.rs`).
    pub async fn process_partitioned<F, Fut, E>(
        &mut self,
        max_in_flight: usize,
        handler: F,
    ) -> Result<(), ProcessError<E>>
    where
        F: FnMut(ConsumerRecord) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        self.process_partitioned_until(max_in_flight, std::future::pending(), handler)
            .await
    }

    /// Like [`process_partitioned`](Self::process_partitioned), until `shutdown` completes:
    /// records already in the handler finish, queued ones are given back (the positions move
    /// back to them), and it returns `Ok`. Close the consumer afterwards to commit and leave.
    ///
    /// Not cancel-safe: dropping the future abandons records in the handler, and positions
    /// stay past records that were queued but not processed. Stop it with `shutdown` instead.
    pub async fn process_partitioned_until<F, Fut, E, S>(
        &mut self,
        max_in_flight: usize,
        shutdown: S,
        mut handler: F,
    ) -> Result<(), ProcessError<E>>
    where
        F: FnMut(ConsumerRecord) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        S: Future<Output = ()>,
    {
        let max_in_flight = max_in_flight.max(1);
        let processed: Processed = Arc::default();
        self.processed = Some(Arc::clone(&processed));
        let mut run = Run {
            queued: HashMap::new(),
            queued_total: 0,
            busy: HashSet::new(),
            parked: HashMap::new(),
            first: HashMap::new(),
            unparked: false,
            processed,
        };
        let mut slots: Slots<Fut, (TopicPartition, i64)> = Slots::new(max_in_flight);
        // Stop polling when this many records are staged: a full stage for as many
        // partitions as there are slots.
        let queue_limit = (max_in_flight * PARTITION_QUEUE).max(PARTITION_QUEUE * 16);
        let manual_commits = self.group.is_some() && !self.config.auto_commit();
        let mut next_commit = Instant::now() + self.config.auto_commit_interval;
        let mut failure: Option<ProcessError<E>> = None;
        let mut stopping = false;
        tokio::pin!(shutdown);
        loop {
            // Start the next record of every idle partition, while there is room.
            if !stopping {
                let idle: Vec<TopicPartition> = run
                    .queued
                    .keys()
                    .filter(|tp| !run.busy.contains(*tp))
                    .cloned()
                    .collect();
                for tp in idle {
                    if slots.is_full() {
                        break;
                    }
                    let Some(record) = run.queued.get_mut(&tp).and_then(VecDeque::pop_front) else {
                        continue;
                    };
                    run.queued_total -= 1;
                    if run.queued.get(&tp).is_some_and(VecDeque::is_empty) {
                        run.queued.remove(&tp);
                    }
                    let offset = record.offset();
                    if slots.push(handler(record), (tp.clone(), offset)).is_ok() {
                        run.busy.insert(tp);
                    }
                }
            }
            if stopping && slots.len() == 0 {
                break;
            }
            let revoking = self.revocation_pending();
            if let Some(revoked) = &revoking {
                for tp in revoked {
                    run.forget(tp);
                    self.discard_parked(&mut run, tp);
                }
            }
            // A revocation is applied (at the next poll) once its partitions' records are out
            // of the handler, so it commits everything they finished.
            let revocation_waits = revoking
                .as_ref()
                .is_some_and(|r| r.iter().any(|tp| run.busy.contains(tp)));
            let want_records = !stopping && !revocation_waits && run.queued_total < queue_limit;
            let commit_due = manual_commits && !stopping;
            tokio::select! {
                (result, (tp, offset)) = poll_fn(|cx| slots.poll_next(cx)) => {
                    run.busy.remove(&tp);
                    match result {
                        Ok(()) => {
                            run.processed.lock().insert(tp, offset + 1);
                        }
                        Err(error) => {
                            stopping = true;
                            if failure.is_none() {
                                failure = Some(ProcessError::Handler { partition: tp, offset, error });
                            }
                        }
                    }
                }
                () = &mut shutdown, if !stopping => stopping = true,
                got = self.fill(&mut run, queue_limit), if want_records => {
                    if let Err(e) = got {
                        stopping = true;
                        failure.get_or_insert(ProcessError::Consume(e));
                    }
                }
                () = tokio::time::sleep_until(next_commit.into()), if commit_due => {
                    next_commit = Instant::now() + self.config.auto_commit_interval;
                    let offsets = self.consumed_offsets();
                    drop(self.commit_offsets_async(offsets));
                }
            }
        }
        self.finish_run(run);
        match failure {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Waits until records arrive and queues them by partition, parking drains whose
    /// partition is full. Returns once something was queued.
    async fn fill(&mut self, run: &mut Run, queue_limit: usize) -> Result<(), ConsumeError> {
        loop {
            // A revocation whose partitions still have records in the handler waits for them
            // (the caller's loop does the waiting): running it now would commit too little.
            if self
                .revocation_pending()
                .is_some_and(|r| r.iter().any(|tp| run.busy.contains(tp)))
            {
                return Ok(());
            }
            self.on_poll();
            self.drop_unassigned(run);
            if self.take_partitioned(run, queue_limit)? > 0 {
                return Ok(());
            }
            super::receive::wait(&self.shared).await?;
        }
    }

    /// Moves records from the consumer's drains into the run's queues, up to `queue_limit` in
    /// all and [`PARTITION_QUEUE`] per partition.
    fn take_partitioned(&mut self, run: &mut Run, queue_limit: usize) -> Result<u64, ConsumeError> {
        let mut taken = 0u64;
        while run.queued_total < queue_limit {
            if self.drain.is_none() {
                let unpark = run.parked.keys().find(|tp| run.room(tp) > 0).cloned();
                if let Some(tp) = unpark {
                    self.drain = run.parked.get_mut(&tp).and_then(VecDeque::pop_front);
                    if run.parked.get(&tp).is_some_and(VecDeque::is_empty) {
                        run.parked.remove(&tp);
                    }
                    run.unparked = true;
                    if !self.drain_is_current()
                        && let Some(stale) = self.drain.take()
                    {
                        self.discard_drain(stale);
                    }
                    continue;
                }
                if !self.next_drain()? {
                    break;
                }
                run.unparked = false;
                continue;
            }
            let Some(drain) = self.drain.as_mut() else {
                break;
            };
            let tp = drain.partition.clone();
            // Records of a partition with an older drain set aside wait behind it; an
            // unparked drain is the oldest and goes back to the front.
            let behind = !run.unparked && run.parked.contains_key(&tp);
            if behind || run.room(&tp) == 0 {
                if let Some(drain) = self.drain.take() {
                    let line = run.parked.entry(tp).or_default();
                    if run.unparked {
                        line.push_front(drain);
                    } else {
                        line.push_back(drain);
                    }
                }
                continue;
            }
            let allowed = run.room(&tp).min(queue_limit - run.queued_total);
            let mut finished = false;
            for _ in 0..allowed {
                match drain.next_record() {
                    Some(Ok(record)) => {
                        taken += 1;
                        run.queue(ConsumerRecord::new(
                            Arc::clone(&tp.topic),
                            tp.partition,
                            record,
                        ));
                    }
                    Some(Err(error)) => {
                        self.shared.metrics.records_returned(taken);
                        return Err(self.corrupt(error));
                    }
                    None => {
                        finished = true;
                        break;
                    }
                }
            }
            if finished {
                self.finish_drain();
                run.unparked = false;
            }
        }
        self.shared.metrics.records_returned(taken);
        Ok(taken)
    }

    /// Whether the current drain's partition is still assigned under the same epoch.
    fn drain_is_current(&self) -> bool {
        let Some(d) = &self.drain else {
            return false;
        };
        let state = self.shared.state.lock();
        state
            .partitions
            .get(&d.partition)
            .is_some_and(|p| p.epoch == d.epoch && !p.revoking)
    }

    /// Drops a drain without publishing its position, returning its bytes to the budget.
    fn discard_drain(&self, drain: Drain) {
        self.shared
            .state
            .lock()
            .release(&drain.partition, drain.bytes);
        self.shared.wake_fetcher.notify_one();
    }

    fn discard_parked(&self, run: &mut Run, tp: &TopicPartition) {
        for drain in run.parked.remove(tp).into_iter().flatten() {
            self.discard_drain(drain);
        }
    }

    /// Drops queued records and parked drains of partitions the group took away.
    fn drop_unassigned(&self, run: &mut Run) {
        let assigned: HashSet<TopicPartition> = {
            let state = self.shared.state.lock();
            run.queued
                .keys()
                .chain(run.parked.keys())
                .filter(|tp| state.partitions.contains_key(*tp))
                .cloned()
                .collect()
        };
        let gone: Vec<TopicPartition> = run
            .queued
            .keys()
            .chain(run.parked.keys())
            .filter(|tp| !assigned.contains(*tp))
            .cloned()
            .collect();
        for tp in gone {
            run.forget(&tp);
            self.discard_parked(run, &tp);
            run.first.remove(&tp);
        }
    }

    /// Ends a run: parked drains go back to the budget, and each partition the run received
    /// records of is moved back to its first unprocessed record.
    fn finish_run(&mut self, mut run: Run) {
        let parked: Vec<TopicPartition> = run.parked.keys().cloned().collect();
        for tp in parked {
            self.discard_parked(&mut run, &tp);
        }
        let processed = run.processed.lock().clone();
        self.processed = None;
        for (tp, first) in run.first {
            let back_to = processed.get(&tp).copied().unwrap_or(first);
            // Always: the fetcher may have moved past data that was parked and is now dropped,
            // whatever the published position says. NotAssigned: the group took the partition
            // meanwhile, and nothing is to be given back.
            let _ = self.seek(&tp, back_to);
        }
    }
}
