//! The sender: one task that owns every sealed batch from the moment the accumulator hands it
//! over until its records resolve. It seals batches whose linger expired, groups ready batches
//! by leader into one Produce request per broker, keeps at most
//! `max_in_flight_requests_per_connection` requests in flight per broker, and decides what
//! each answer means (see [`outcome`]).
//!
//! It wakes only on events (a sealed batch, a response, a flush) and on the earliest of its
//! deadlines (linger, retry backoff, delivery timeout); it never polls.
//!
//! Ordering: a partition's batches are drained in the order they were sealed, at most one per
//! request, and at most five in flight. When one fails and must be retried, the partition is
//! held until everything it has in flight has come back, and then resent from the oldest, so
//! the broker always sees a partition's sequences in order.

pub(crate) mod broker;
mod event;
pub(crate) mod idempotence;
mod outcome;
mod resolve;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_net::{Backoff, ClusterMetadata, NetError, deadline_after};
use krafka_protocol::messages::ProduceRequest;
use krafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use crate::accumulator::{Accumulator, BatchSink, PartitionQueue};
use crate::batch::{ProducerBatch, Stamp, TopicPartition, add_sequence};
use crate::config::{MAX_IDEMPOTENT_IN_FLIGHT, ProducerConfig};
use crate::delivery::Outcome;
use crate::error::{ProduceError, Written};
use crate::metrics::ProducerMetrics;
use broker::ProduceJob;
pub(crate) use event::Event;
use event::JobResult;
use idempotence::{Identity, InitError};

/// The accumulator's batches reach the sender as events on its channel, in order with the
/// producer's flushes and closes.
impl BatchSink for UnboundedSender<Event> {
    fn sealed(&self, batch: ProducerBatch) -> Option<ProducerBatch> {
        match self.send(Event::Sealed(batch)) {
            Ok(()) => None,
            Err(unsent) => match unsent.0 {
                Event::Sealed(batch) => Some(batch),
                // Only a Sealed event was sent.
                _ => None,
            },
        }
    }

    fn linger(&self, queue: Arc<PartitionQueue>, batch_id: u64, deadline: Instant) {
        // A closed channel means the sender is gone; the close fails what is left.
        let _ = self.send(Event::Linger {
            queue,
            batch_id,
            deadline,
        });
    }
}

/// The sender's view of one partition.
#[derive(Debug)]
struct PartitionState {
    tp: Arc<TopicPartition>,
    /// Batches waiting to be sent, oldest first; retries go back in drain order.
    queue: VecDeque<ProducerBatch>,
    /// Batches of this partition in requests now.
    in_flight: usize,
    /// The broker they went to. A partition sends to one broker at a time: after a leader
    /// change, a later batch must not reach the new leader before an earlier one is settled,
    /// or the broker would take its sequence as the producer's first.
    in_flight_broker: i32,
    /// Which of its leader's `connections_per_broker` connections it is sent on: fixed, so
    /// that its requests never race each other over two sockets (order and idempotent
    /// sequences stay intact), and spread, so that every connection carries partitions.
    slot: usize,
    /// A batch failed: send nothing until `in_flight` is 0, then resend from the oldest.
    hold: bool,
    /// The next sequence to stamp (idempotence).
    next_sequence: i32,
    /// A batch of the current epoch was acknowledged. Until then the broker has no state for
    /// us and would take any sequence as our first, so only one batch may be in flight: a
    /// later batch landing before a failed earlier one would make the earlier one look like a
    /// duplicate.
    established: bool,
    next_drain_order: u64,
    /// The drain order of the newest batch resolved, to tell an out-of-order answer explained
    /// by an earlier failure from one that means the broker lost our state.
    resolved_order: Option<u64>,
    /// The retry backoff's steps and jitter; a retried batch waits the step of its own
    /// attempts (`retry_backoff` doubling to `retry_backoff_max`, ±20%).
    backoff: Backoff,
}

/// A request waiting for its answer.
#[derive(Debug)]
struct InFlightRequest {
    lane: LaneKey,
    batches: Vec<(usize, ProducerBatch)>,
}

/// A lane: one broker and one slot of its connection bundle.
type LaneKey = (i32, usize);

/// A lane (one connection to a broker) and how many of our requests it has.
#[derive(Debug)]
struct BrokerLane {
    jobs: UnboundedSender<ProduceJob>,
    in_flight: usize,
}

pub(crate) struct Sender {
    config: Arc<ProducerConfig>,
    metadata: ClusterMetadata,
    accumulator: Arc<Accumulator>,
    metrics: Arc<ProducerMetrics>,
    events_tx: UnboundedSender<Event>,
    partitions: Vec<PartitionState>,
    index: HashMap<(Arc<str>, i32), usize>,
    brokers: HashMap<LaneKey, BrokerLane>,
    requests: HashMap<u64, InFlightRequest>,
    next_request: u64,
    linger: VecDeque<(Instant, Arc<PartitionQueue>, u64)>,
    identity: Option<Identity>,
    /// Sealed batches not yet resolved, by arrival number (split halves share one).
    unresolved: BTreeMap<u64, u32>,
    arrivals: u64,
    flushes: Vec<(u64, oneshot::Sender<()>)>,
    closing: Vec<oneshot::Sender<()>>,
    close_requested: bool,
    fatal: Option<ProduceError>,
    refresh_pending: bool,
    seen_generation: u64,
    drain_start: usize,
    /// The instant the last pass decided with: a backoff that ended after it was skipped by
    /// that pass and must still be a deadline, however late the sender goes to sleep.
    decided_at: Instant,
}

impl Sender {
    pub(crate) fn new(
        config: Arc<ProducerConfig>,
        metadata: ClusterMetadata,
        accumulator: Arc<Accumulator>,
        metrics: Arc<ProducerMetrics>,
        events_tx: UnboundedSender<Event>,
    ) -> Self {
        let identity = config.idempotence.then(|| {
            Identity::new(Backoff::new(
                config.retry_backoff,
                config.retry_backoff_max,
                std::process::id().into(),
            ))
        });
        Self {
            config,
            metadata,
            accumulator,
            metrics,
            events_tx,
            partitions: Vec::new(),
            index: HashMap::new(),
            brokers: HashMap::new(),
            requests: HashMap::new(),
            next_request: 1,
            linger: VecDeque::new(),
            identity,
            unresolved: BTreeMap::new(),
            arrivals: 0,
            flushes: Vec::new(),
            closing: Vec::new(),
            close_requested: false,
            fatal: None,
            refresh_pending: false,
            seen_generation: 0,
            drain_start: 0,
            decided_at: Instant::now(),
        }
    }

    /// The sender task.
    pub(crate) async fn run(mut self, mut events: UnboundedReceiver<Event>) {
        loop {
            let wake_at = self.next_deadline();
            let event = match wake_at {
                Some(at) => {
                    tokio::select! {
                        biased;
                        e = events.recv() => e,
                        () = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => None,
                    }
                }
                None => events.recv().await,
            };
            // One instant for the whole pass: answers handled in it start their backoffs at it.
            let now = Instant::now();
            if let Some(event) = event {
                self.handle(event, now);
            }
            self.fire_lingers(now);
            // Lingers seal into the channel; take those (and anything else queued) before
            // draining, so that each partition's batches are seen in order.
            while let Ok(event) = events.try_recv() {
                self.handle(event, now);
            }
            self.expire(now);
            self.advance_identity(now);
            while self.drain(now) {}
            self.decided_at = now;
            self.finish_flushes();
            if self.close_requested && self.unresolved.is_empty() && self.requests.is_empty() {
                for done in self.closing.drain(..) {
                    let _ = done.send(());
                }
                tracing::debug!("producer sender stopped");
                return;
            }
        }
    }

    /// The earliest deadline the last pass left. A retry whose backoff was over at that pass
    /// but which could not go (partition held, broker busy, no leader) waits for the event
    /// that frees it, not for a deadline in the past, which would spin. A backoff that ended
    /// only after the pass is a deadline even if that moment has passed by now: the pass
    /// skipped it, and nothing else would wake the sender for it.
    fn next_deadline(&self) -> Option<Instant> {
        let now = self.decided_at;
        let mut at = self.linger.front().map(|l| l.0);
        let mut consider = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for p in &self.partitions {
            if let Some(head) = p.queue.front() {
                consider(deadline_after(head.created, self.config.delivery_timeout));
                if let Some(r) = head.retry_at.filter(|&r| r > now) {
                    consider(r);
                }
            }
        }
        if let Some(r) = self
            .identity
            .as_ref()
            .and_then(|i| i.retry_at)
            .filter(|&r| r > now)
        {
            consider(r);
        }
        at
    }

    fn handle(&mut self, event: Event, now: Instant) {
        match event {
            Event::Sealed(batch) => {
                self.arrivals += 1;
                *self.unresolved.entry(self.arrivals).or_default() += 1;
                let index = self.partition_index(&batch.tp);
                let mut batch = batch;
                batch.arrival = self.arrivals;
                if let Some(fatal) = &self.fatal {
                    let e = fatal.clone();
                    self.fail(batch, e);
                    return;
                }
                self.partitions[index].queue.push_back(batch);
            }
            Event::Linger {
                queue,
                batch_id,
                deadline,
            } => self.linger.push_back((deadline, queue, batch_id)),
            // The caller sealed every open batch before sending this, so the channel has
            // delivered them all by now.
            Event::Flush(done) => self.flushes.push((self.arrivals, done)),
            Event::Response {
                request_id,
                result,
                latency,
            } => self.on_response(request_id, result, latency, now),
            Event::ProducerId(result) => self.on_producer_id(result),
            Event::MetadataRefreshed => self.refresh_pending = false,
            Event::Close(done) => {
                self.close_requested = true;
                if let Some(done) = done {
                    self.closing.push(done);
                }
            }
        }
    }

    fn partition_index(&mut self, tp: &Arc<TopicPartition>) -> usize {
        let key = (tp.topic.clone(), tp.partition);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.partitions.len();
        let connections = self.metadata.pool().config().connections_per_broker;
        self.partitions.push(PartitionState {
            slot: broker::connection_slot(&tp.topic, tp.partition, connections),
            tp: tp.clone(),
            queue: VecDeque::new(),
            in_flight: 0,
            in_flight_broker: -1,
            hold: false,
            next_sequence: 0,
            established: false,
            next_drain_order: 0,
            resolved_order: None,
            backoff: Backoff::new(
                self.config.retry_backoff,
                self.config.retry_backoff_max,
                i as u64,
            ),
        });
        self.index.insert(key, i);
        i
    }

    fn fire_lingers(&mut self, now: Instant) {
        while self.linger.front().is_some_and(|l| l.0 <= now) {
            if let Some((_, queue, id)) = self.linger.pop_front() {
                self.accumulator.seal_if(&queue, id);
            }
        }
    }

    /// Fails batches whose delivery timeout passed while they waited (not in flight: those
    /// wait for their request's answer or timeout).
    fn expire(&mut self, now: Instant) {
        let timeout = self.config.delivery_timeout;
        for i in 0..self.partitions.len() {
            while self.partitions[i]
                .queue
                .front()
                .is_some_and(|b| deadline_after(b.created, timeout) <= now)
            {
                let Some(batch) = self.partitions[i].queue.pop_front() else {
                    break;
                };
                if batch.stamp.is_some() {
                    // Its sequence is spent whether or not it was written: later batches can
                    // only be settled under a new epoch.
                    self.want_bump();
                }
                let error = ProduceError::DeliveryTimeout {
                    written: batch.written,
                    last_error: batch.last_error.clone(),
                };
                tracing::warn!(topic = %batch.tp.topic, partition = batch.tp.partition,
                    records = batch.record_count, written = %batch.written, "delivery timeout");
                self.fail(batch, error);
            }
        }
    }

    fn want_bump(&mut self) {
        if let Some(identity) = self.identity.as_mut() {
            identity.bump_needed = true;
        }
    }

    /// Starts InitProducerId when there is no id yet, or when a bump is wanted and nothing
    /// unsettled remains.
    fn advance_identity(&mut self, now: Instant) {
        // Scanning the queues costs a pass over every batch: only while a bump waits.
        let bump_waits = self.identity.as_ref().is_some_and(|i| i.bump_needed);
        if bump_waits {
            self.settle_behind_unwritten();
        }
        let quiescent = bump_waits
            && self.requests.is_empty()
            && self.partitions.iter().all(|p| {
                p.queue
                    .iter()
                    .all(|b| !(b.stamp.is_some() && b.written == Written::Maybe))
            });
        let Some(identity) = self.identity.as_mut() else {
            return;
        };
        if identity.request_in_flight || identity.retry_at.is_some_and(|r| r > now) {
            return;
        }
        if identity.bump_needed && identity.current.is_some() && quiescent {
            identity.bump_from = identity.current.take();
            identity.bump_needed = false;
            self.metrics.epoch_bumped();
            tracing::info!(from = ?identity.bump_from, "bumping the producer epoch (KIP-360)");
        }
        if identity.current.is_some() {
            return;
        }
        identity.request_in_flight = true;
        identity.retry_at = None;
        let metadata = self.metadata.clone();
        let from = identity.bump_from;
        let events = self.events_tx.clone();
        tokio::spawn(async move {
            let result = idempotence::init_producer_id(&metadata, from).await;
            let _ = events.send(Event::ProducerId(result));
        });
    }

    /// Within an epoch the broker appends a partition's batches only in sequence order, so a
    /// batch queued behind one that is known not to be in the log is not in the log either,
    /// whatever its own attempts left unclear. Marking it so lets a waiting bump proceed
    /// instead of sending it (behind the unwritten one it would never settle).
    fn settle_behind_unwritten(&mut self) {
        for p in &mut self.partitions {
            let mut unwritten: Option<(i64, i16)> = None;
            for b in &mut p.queue {
                let Some(s) = b.stamp else { break };
                let epoch = (s.producer_id, s.epoch);
                if unwritten == Some(epoch) {
                    b.written = Written::No;
                } else if b.written == Written::No {
                    unwritten = Some(epoch);
                }
            }
        }
    }

    fn on_producer_id(&mut self, result: Result<(i64, i16), InitError>) {
        let Some(identity) = self.identity.as_mut() else {
            return;
        };
        identity.request_in_flight = false;
        match result {
            Ok(id) => {
                tracing::debug!(producer_id = id.0, epoch = id.1, "producer id");
                identity.current = Some(id);
                identity.bump_from = None;
                // Nothing was in flight during the bump: whatever asked for one meanwhile is
                // settled by this one.
                identity.bump_needed = false;
                identity.retry_at = None;
                identity.backoff.reset();
                // A new epoch starts every partition's sequences at 0; batches stamped under
                // the old one are restamped when drained.
                for p in &mut self.partitions {
                    p.next_sequence = 0;
                    p.established = false;
                }
            }
            Err(InitError::Retriable(reason)) => {
                tracing::debug!(%reason, "InitProducerId failed; retrying");
                identity.retry_at = Some(Instant::now() + identity.backoff.next_delay());
            }
            Err(InitError::Fatal(code, reason)) => {
                self.set_fatal(ProduceError::Fatal {
                    code,
                    reason: reason.into(),
                });
            }
        }
    }

    /// Fails everything queued and every later record with `error`.
    fn set_fatal(&mut self, error: ProduceError) {
        tracing::error!(%error, "producer failed fatally");
        self.fatal = Some(error.clone());
        self.accumulator.set_fatal(error.clone());
        for i in 0..self.partitions.len() {
            let queued: Vec<ProducerBatch> = self.partitions[i].queue.drain(..).collect();
            for batch in queued {
                self.fail(batch, error.clone());
            }
        }
    }

    /// Builds at most one request per broker from the partitions' oldest ready batches.
    /// Returns whether it sent anything (so the caller drains again while it does).
    fn drain(&mut self, now: Instant) -> bool {
        if self.fatal.is_some() {
            return false;
        }
        let current = match &self.identity {
            Some(identity) => match identity.current {
                Some(c) => Some((c, identity.bump_needed)),
                None => return false,
            },
            None => None,
        };
        let snapshot = self.metadata.snapshot();
        if snapshot.generation != self.seen_generation {
            self.seen_generation = snapshot.generation;
            self.accumulator.grow_topics(&snapshot);
        }
        let mut picked: HashMap<LaneKey, (Vec<(usize, ProducerBatch)>, usize)> = HashMap::new();
        let mut need_metadata = false;
        let count = self.partitions.len();
        for step in 0..count {
            let i = (self.drain_start + step) % count;
            let p = &mut self.partitions[i];
            let Some(head) = p.queue.front() else {
                continue;
            };
            if p.hold {
                if p.in_flight > 0 {
                    continue;
                }
                p.hold = false;
            }
            if head.retry_at.is_some_and(|r| r > now) {
                continue;
            }
            if let Some((_, bump_needed)) = current {
                // While a bump waits, only batches that may be in the log go out (to settle
                // them under their epoch); the rest wait for the new one.
                if bump_needed && !(head.stamp.is_some() && head.written == Written::Maybe) {
                    continue;
                }
                let limit = if p.established {
                    MAX_IDEMPOTENT_IN_FLIGHT
                } else {
                    1
                };
                if p.in_flight >= limit {
                    continue;
                }
            }
            let Some(leader) = snapshot.leader(&p.tp.topic, p.tp.partition) else {
                need_metadata = true;
                continue;
            };
            if p.in_flight > 0 && p.in_flight_broker != leader.broker {
                continue;
            }
            let lane = (leader.broker, p.slot);
            let lane_busy = self
                .brokers
                .get(&lane)
                .is_some_and(|b| b.in_flight >= self.config.max_in_flight_requests_per_connection);
            if lane_busy {
                continue;
            }
            let entry = picked.entry(lane).or_default();
            let size = head.size();
            if !entry.0.is_empty() && entry.1 + size > self.config.max_request_size {
                continue;
            }
            let Some(mut batch) = p.queue.pop_front() else {
                continue;
            };
            if let Some(((pid, epoch), _)) = current {
                let stale = batch
                    .stamp
                    .is_none_or(|s| (s.producer_id, s.epoch) != (pid, epoch));
                if stale {
                    let stamp = Stamp {
                        producer_id: pid,
                        epoch,
                        sequence: p.next_sequence,
                    };
                    p.next_sequence = add_sequence(p.next_sequence, batch.record_count);
                    if let Err(e) = batch.stamp(Some(stamp)) {
                        self.fail(batch, e);
                        continue;
                    }
                }
            } else if let Err(e) = batch.stamp(None) {
                self.fail(batch, e);
                continue;
            }
            if batch.attempts == 0 {
                batch.drain_order = p.next_drain_order;
                p.next_drain_order += 1;
            } else {
                self.metrics.retried();
            }
            batch.attempts += 1;
            p.in_flight += 1;
            p.in_flight_broker = leader.broker;
            entry.1 += size;
            entry.0.push((i, batch));
        }
        self.drain_start = self.drain_start.wrapping_add(1);
        if need_metadata {
            self.refresh_metadata();
        }
        let sent = !picked.is_empty();
        for (lane, (batches, _)) in picked {
            self.send_request(lane, batches, now);
        }
        sent
    }

    fn refresh_metadata(&mut self) {
        if self.refresh_pending {
            return;
        }
        self.refresh_pending = true;
        let metadata = self.metadata.clone();
        let events = self.events_tx.clone();
        tokio::spawn(async move {
            let _ = metadata.refresh().await;
            let _ = events.send(Event::MetadataRefreshed);
        });
    }

    fn send_request(
        &mut self,
        lane_key: LaneKey,
        batches: Vec<(usize, ProducerBatch)>,
        now: Instant,
    ) {
        let mut topic_data: Vec<TopicProduceData> = Vec::new();
        for (_, batch) in &batches {
            let data = PartitionProduceData {
                index: batch.tp.partition,
                records: Some(batch.wire_bytes()),
                ..Default::default()
            };
            match topic_data
                .iter_mut()
                .find(|t| t.name.as_str() == &*batch.tp.topic)
            {
                Some(t) => t.partition_data.push(data),
                None => topic_data.push(TopicProduceData {
                    name: batch.tp.topic_wire.clone(),
                    partition_data: vec![data],
                    ..Default::default()
                }),
            }
        }
        let request = ProduceRequest {
            transactional_id: None,
            acks: self.config.acks.wire_value(),
            timeout_ms: i32::try_from(self.config.request_timeout.as_millis()).unwrap_or(i32::MAX),
            topic_data,
            ..Default::default()
        };
        let request_id = self.next_request;
        self.next_request += 1;
        let lane = self.brokers.entry(lane_key).or_insert_with(|| BrokerLane {
            jobs: broker::spawn_lane(
                lane_key,
                self.metadata.pool().clone(),
                self.events_tx.clone(),
            ),
            in_flight: 0,
        });
        lane.in_flight += 1;
        self.metrics.request_sent(batches.len());
        let job = ProduceJob {
            request_id,
            request,
        };
        let lost = lane.jobs.send(job).is_err();
        self.requests.insert(
            request_id,
            InFlightRequest {
                lane: lane_key,
                batches,
            },
        );
        if lost {
            // The lane's tasks are gone: fail the request now (it was never sent) and start a
            // new lane next time.
            self.brokers.remove(&lane_key);
            let error = NetError::NoBrokerAvailable { last_error: None };
            self.on_response(
                request_id,
                JobResult::Failed { error, sent: false },
                Duration::ZERO,
                now,
            );
        }
    }

    /// Resolves a batch with an error.
    fn fail(&mut self, batch: ProducerBatch, error: ProduceError) {
        self.metrics.batch_failed(batch.record_count);
        batch.resolve(Outcome::Failed(error));
        self.resolved(&batch);
    }

    /// Bookkeeping once a batch's records have their outcome.
    fn resolved(&mut self, batch: &ProducerBatch) {
        self.settle(batch.reserved, batch.arrival);
    }

    /// Releases a resolved batch's memory and counts it off its arrival (for flush).
    fn settle(&mut self, reserved: usize, arrival: u64) {
        self.accumulator.memory.release(reserved);
        if let Some(n) = self.unresolved.get_mut(&arrival) {
            *n -= 1;
            if *n == 0 {
                self.unresolved.remove(&arrival);
            }
        }
    }

    /// Resolves flushes whose batches have all resolved.
    fn finish_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        let oldest = self.unresolved.keys().next().copied().unwrap_or(u64::MAX);
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flushes)
            .into_iter()
            .partition(|(upto, _)| *upto < oldest);
        self.flushes = waiting;
        for (_, tx) in done {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::BytesMut;
    use krafka_net::{ConnectionConfig, ConnectionPool, MetadataConfig};
    use tokio::sync::mpsc::unbounded_channel;

    use super::*;
    use crate::delivery::BatchCompletion;
    use crate::partitioner::PartitionerChoice;

    fn idle_sender() -> Sender {
        let config = Arc::new(ProducerConfig::default());
        let metrics = Arc::new(ProducerMetrics::default());
        let (events_tx, _events_rx) = unbounded_channel();
        let pool = ConnectionPool::new(ConnectionConfig::default());
        let metadata = ClusterMetadata::new(pool, MetadataConfig::new(["127.0.0.1:1"]));
        let accumulator = Arc::new(Accumulator::new(
            config.clone(),
            Box::new(events_tx.clone()),
            PartitionerChoice::Default,
            metrics.clone(),
        ));
        Sender::new(config, metadata, accumulator, metrics, events_tx)
    }

    /// Queues a batch that failed once and may go again at `retry_at`.
    fn queue_retry(sender: &mut Sender, created: Instant, retry_at: Instant) {
        let tp = TopicPartition::new("t".into(), 0);
        let i = sender.partition_index(&tp);
        let completion = BatchCompletion::new("t".into(), 0);
        let mut batch = ProducerBatch::sealed(tp, BytesMut::new(), 1, completion, created, 0);
        batch.attempts = 1;
        batch.retry_at = Some(retry_at);
        sender.partitions[i].queue.push_back(batch);
    }

    // Issue 21: a cut connection fails every request on it at once; each batch retried after
    // it must wait one step of its own attempts, not a step more than the batch before it
    // (that was 100, 200, 400 ms... for 1, 2, 3 batches in flight: ~0.5 s per cut).
    #[tokio::test]
    async fn batches_failing_together_each_wait_one_step_of_their_own_attempts() {
        let mut sender = idle_sender();
        let now = Instant::now();
        let tp = TopicPartition::new("t".into(), 0);
        let i = sender.partition_index(&tp);
        for (order, attempts) in [(0, 1), (1, 1), (2, 1), (3, 1), (4, 3)] {
            let completion = BatchCompletion::new("t".into(), 0);
            let mut batch =
                ProducerBatch::sealed(tp.clone(), BytesMut::new(), 1, completion, now, 0);
            batch.attempts = attempts;
            batch.drain_order = order;
            sender.retry(i, batch, Written::Maybe, "cut".into(), now);
        }
        let waits: Vec<(u32, Duration)> = sender.partitions[i]
            .queue
            .iter()
            .map(|b| (b.attempts, b.retry_at.map_or(Duration::ZERO, |r| r - now)))
            .collect();
        let base = sender.config.retry_backoff;
        for (attempts, wait) in waits {
            let step = base * 2u32.pow(attempts - 1);
            assert!(
                wait >= step.mul_f64(0.8) && wait <= step.mul_f64(1.2),
                "attempt {attempts}: waits {wait:?}, its step is {step:?}"
            );
        }
    }

    // The fault runs hung on this under CPU load: the pass skipped a retry whose backoff had
    // not ended, the backoff ended before the sender computed its next wake-up, and it was
    // taken for a retry blocked on an event, so nothing woke the sender until the delivery
    // timeout.
    #[tokio::test]
    async fn a_backoff_ending_after_the_pass_that_skipped_it_still_wakes_the_sender() {
        let mut sender = idle_sender();
        let pass = Instant::now();
        let retry_at = pass + Duration::from_millis(1);
        queue_retry(&mut sender, pass, retry_at);
        sender.decided_at = pass;
        // However late the sender computes its wake-up (the backoff may have ended by then), it
        // decides with the pass's instant: no clock is read.
        assert_eq!(sender.next_deadline(), Some(retry_at));
    }

    #[tokio::test]
    async fn a_retry_due_at_the_pass_waits_for_an_event_not_a_past_deadline() {
        let mut sender = idle_sender();
        let pass = Instant::now();
        let created = pass - Duration::from_millis(10);
        queue_retry(&mut sender, created, pass - Duration::from_millis(1));
        sender.decided_at = pass;
        // Only the delivery timeout is left to wake for: waking now would spin.
        let expiry = deadline_after(created, sender.config.delivery_timeout);
        assert_eq!(sender.next_deadline(), Some(expiry));
    }
}
