//! The classic-protocol group member as a state machine: it does no I/O and reads no clock
//! (every input carries `now`), as quinn-proto keeps QUIC apart from sockets. The async driver
//! ([`super::coordinator`]) feeds it the application's commands, the coordinator's answers and
//! timer expiries, and carries out what it asks for:
//!
//! - [`GroupMember::poll_request`]: the next request to send (at most one is in flight, as
//!   the coordinator answers one connection in order anyway);
//! - [`GroupMember::poll_event`]: what the application and the fetcher must hear (partitions
//!   to revoke, assign or drop, replies, errors, the auto-commit flag);
//! - [`GroupMember::poll_timeout`]: when to call [`GroupMember::handle_timeout`] next.
//!
//! | state | what the member does | leaves for |
//! |---|---|---|
//! | `Unjoined` | no subscription (or a manual assignment): serves commits and lookups | `Joining` on a subscription |
//! | `Joining` | JoinGroup (finding the coordinator first); MEMBER_ID_REQUIRED and REBALANCE_IN_PROGRESS send it again | `Assigning` (leader), `Syncing` |
//! | `Assigning` | the leader waits for metadata to assign from | `Syncing` |
//! | `Syncing` | SyncGroup | `Revoking` (cooperative: partitions that went away), `FetchingOffsets`, `Stable`; `Joining` on REBALANCE_IN_PROGRESS |
//! | `FetchingOffsets` | OffsetFetch for new partitions, then hands them to the fetcher | `Stable`, `Joining` |
//! | `Stable` | heartbeats, commits, lookups, the leader's watch on partition counts | `Revoking` (eager rebalance, unsubscribe), `Joining`, `PollExpired` |
//! | `Revoking` | waits for the application to give partitions up (heartbeating), commits its answer | what comes next: `Joining`, `FetchingOffsets`, `Stable`, `Unjoined` |
//! | `PollExpired` | left after `max_poll_interval` without a poll; checks each heartbeat interval | `Joining` once the application polls |
//! | `Fatal` | refused for good: serves commits and lookups only | `Closing` |
//! | `Closing` | finishes a join or sync under way (within `request_timeout`), commits the close's offsets, leaves | `Closed` |
//!
//! In every state but `Closed`, a lost coordinator is found again after a backoff without
//! leaving the state; a member fenced out of its generation loses its partitions and rejoins;
//! a fatal error moves to `Fatal`. See [`outcome`] for how each error code is read.

mod leader;
mod messages;
mod ops;
pub(crate) mod outcome;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_net::{Backoff, NetError};
use krafka_protocol::{ErrorCode, StrBytes};

pub(crate) use self::messages::{
    Answer, Event, Input, JoinAnswer, JoinedMember, Metric, Outgoing, Request,
};
use self::ops::{Done, Op, Ops, Purpose, Step};
use self::outcome::{Verdict, classify, is_fatal};
use super::Offsets;
use super::requests::Identity;
use crate::assignor::{self, protocol};
use crate::config::{AssignorKind, ConsumerConfig, IsolationLevel};
use crate::error::ConsumeError;
use crate::record::TopicPartition;

/// Where the member is (see the module's table).
#[derive(Debug)]
pub(crate) enum State {
    Unjoined,
    Joining,
    Assigning(Joined),
    Syncing {
        protocol: AssignorKind,
        assignments: Vec<(String, Bytes)>,
    },
    FetchingOffsets,
    Stable,
    Revoking(Revocation),
    PollExpired {
        next_check: Instant,
    },
    Fatal,
    Closing,
    Closed,
}

/// A completed JoinGroup, as the leader keeps it until metadata is in.
#[derive(Debug)]
pub(crate) struct Joined {
    protocol: AssignorKind,
    members: Vec<assignor::Member>,
}

/// A revocation the application has been asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revocation {
    pub id: u64,
    pub partitions: Vec<TopicPartition>,
    /// The application answered; its commit is queued or in flight.
    answered: bool,
}

/// What is in flight.
#[derive(Debug)]
enum Flight {
    FindCoordinator,
    Join,
    Metadata,
    Sync,
    Heartbeat,
    FetchOffsets(Vec<TopicPartition>),
    Op(Op),
    Leave,
}

impl Flight {
    /// Whether a close lets it finish (a rebalance under way completes so the close's commit
    /// is made in a generation the coordinator accepts; a commit completes).
    fn finishes_on_close(&self) -> bool {
        !matches!(self, Flight::Heartbeat | Flight::FetchOffsets(_))
    }
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    flight: Flight,
    deadline: Instant,
}

#[derive(Debug)]
struct Closing {
    token: Option<u64>,
    /// The close's commit, until queued.
    commit: Option<Offsets>,
    /// When a join or sync still finishing is given up.
    deadline: Instant,
    left: bool,
}

/// The settings the member reads.
#[derive(Debug, Clone)]
pub(crate) struct MemberConfig {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub request_timeout: Duration,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    pub auto_commit_interval: Option<Duration>,
    pub assignors: Vec<AssignorKind>,
    pub read_committed: bool,
}

impl MemberConfig {
    pub(crate) fn from_consumer(config: &ConsumerConfig) -> Self {
        Self {
            session_timeout: config.session_timeout,
            heartbeat_interval: config.heartbeat_interval,
            max_poll_interval: config.max_poll_interval,
            request_timeout: config.request_timeout,
            retry_backoff: config.retry_backoff,
            retry_backoff_max: config.retry_backoff_max,
            auto_commit_interval: config.auto_commit().then_some(config.auto_commit_interval),
            assignors: config.assignors.clone(),
            read_committed: config.isolation_level == IsolationLevel::ReadCommitted,
        }
    }

    /// Java: a JoinGroup may take the whole rebalance timeout, plus 5 s of slack.
    pub(crate) fn join_timeout(&self) -> Duration {
        self.request_timeout
            .max(self.max_poll_interval + Duration::from_secs(5))
    }

    /// Cooperative only when every configured assignor is (Java's rule: one eager assignor
    /// makes the member eager).
    fn cooperative(&self) -> bool {
        self.assignors
            .iter()
            .all(|a| *a == AssignorKind::CooperativeSticky)
    }
}

fn assignor_named(name: &str) -> Option<AssignorKind> {
    [
        AssignorKind::Range,
        AssignorKind::RoundRobin,
        AssignorKind::CooperativeSticky,
    ]
    .into_iter()
    .find(|a| a.protocol_name() == name)
}

/// One consumer's membership of one group.
#[derive(Debug)]
pub(crate) struct GroupMember {
    config: MemberConfig,
    identity: Identity,
    state: State,
    /// The coordinator's node, once found and dialled.
    coordinator: Option<i32>,
    /// Not before this instant: the next step after a failure (a lost coordinator, a refusal).
    retry_at: Option<Instant>,
    in_flight: Option<InFlight>,
    next_id: u64,
    subscription: BTreeSet<Arc<str>>,
    /// Every partition the current generation gave this member.
    owned: BTreeSet<TopicPartition>,
    /// Owned partitions whose committed offsets are still to be looked up.
    pending: BTreeSet<TopicPartition>,
    /// A rebalance is needed (Java's `rejoinNeeded`).
    rejoin: bool,
    /// As leader: the partition counts the current assignment was computed from.
    assigned_counts: Option<BTreeMap<Arc<str>, i32>>,
    backoff: Backoff,
    next_heartbeat: Instant,
    next_auto_commit: Option<Instant>,
    /// The application's poll count when last seen to change, and when.
    polls: (u64, Instant),
    next_revoke_id: u64,
    ops: Ops,
    closing: Option<Closing>,
    /// A LeaveGroup to send before anything else.
    pending_leave: Option<Request>,
    events: VecDeque<Event>,
    seed: usize,
}

impl GroupMember {
    /// A member of `group`, outside it until subscribed; `seed` varies jitter and the broker
    /// asked for the coordinator between members.
    pub(crate) fn new(
        config: MemberConfig,
        group: &str,
        instance_id: Option<&str>,
        seed: usize,
        now: Instant,
    ) -> Self {
        let retry_backoff = config.retry_backoff;
        Self {
            backoff: Backoff::new(config.retry_backoff, config.retry_backoff_max, seed as u64),
            identity: Identity {
                group: StrBytes::from_string(group.to_owned()),
                member_id: StrBytes::new(),
                generation: -1,
                instance_id: instance_id.map(|i| StrBytes::from_string(i.to_owned())),
            },
            next_auto_commit: config.auto_commit_interval.map(|i| now + i),
            next_heartbeat: now,
            config,
            state: State::Unjoined,
            coordinator: None,
            retry_at: None,
            in_flight: None,
            next_id: 0,
            subscription: BTreeSet::new(),
            owned: BTreeSet::new(),
            pending: BTreeSet::new(),
            rejoin: false,
            assigned_counts: None,
            polls: (0, now),
            next_revoke_id: 0,
            ops: Ops::new(retry_backoff),
            closing: None,
            pending_leave: None,
            events: VecDeque::new(),
            seed,
        }
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The partitions the current generation gave this member.
    #[cfg(test)]
    pub(crate) fn owned(&self) -> &BTreeSet<TopicPartition> {
        &self.owned
    }

    /// The id of the request in flight, if any: the driver drops any other.
    pub(crate) fn in_flight(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|f| f.id)
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`poll_event`](Self::poll_event) has something.
    pub(crate) fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    fn in_group(&self) -> bool {
        self.identity.generation >= 0
    }

    fn wants_membership(&self) -> bool {
        !self.subscription.is_empty()
            && !matches!(
                self.state,
                State::Fatal | State::PollExpired { .. } | State::Closing | State::Closed
            )
            && self.closing.is_none()
    }

    // ---- inputs -------------------------------------------------------------------------

    /// An application command.
    pub(crate) fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Subscribe(topics) => self.subscribe(now, topics),
            Input::Commit { offsets, token } => self.ops.commit(offsets, Purpose::App(token)),
            Input::Committed { partitions, token } => self.ops.lookup(partitions, token),
            Input::Revoked { id, commit } => self.revoked(id, commit),
            Input::Close { commit, token } => self.close(now, commit, token),
        }
    }

    fn subscribe(&mut self, now: Instant, topics: BTreeSet<Arc<str>>) {
        if topics == self.subscription || self.closing.is_some() {
            return;
        }
        self.events
            .push_back(Event::WatchTopics(topics.iter().cloned().collect()));
        self.subscription = topics;
        if !self.subscription.is_empty() {
            self.rejoin = true;
        }
        if self.is_resting() {
            self.settle(now);
        }
    }

    /// The application gave revocation `id`'s partitions up: its commit goes first, then they
    /// are forgotten. An answer to a voided revocation is dropped.
    fn revoked(&mut self, id: u64, commit: Offsets) {
        match &mut self.state {
            State::Revoking(r) if r.id == id && !r.answered => {
                r.answered = true;
                self.ops.commit(commit, Purpose::Revocation(id));
            }
            _ => {
                tracing::debug!(group = %self.identity.group, id, "answer to a voided revocation dropped")
            }
        }
    }

    fn close(&mut self, now: Instant, commit: Offsets, token: Option<u64>) {
        if self.closing.is_some() || matches!(self.state, State::Closed) {
            // Closed already (or closing): nothing more to commit.
            if let Some(token) = token {
                self.events.push_back(Event::Closed { token: Some(token) });
            }
            return;
        }
        tracing::trace!(group = %self.identity.group, commit = commit.len(), "closing");
        self.closing = Some(Closing {
            token,
            commit: Some(commit),
            deadline: now + self.config.request_timeout,
            left: false,
        });
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| !f.flight.finishes_on_close())
        {
            self.in_flight = None;
        }
        if self.in_flight.is_none() {
            self.begin_shutdown(now);
        }
    }

    /// Stops what the member was doing and queues the close's commit; pending operations
    /// fail (the consumer is closing).
    fn begin_shutdown(&mut self, now: Instant) {
        if matches!(self.state, State::Closing | State::Closed) {
            return;
        }
        self.state = State::Closing;
        for done in self.ops.fail_all(|| ConsumeError::Closed) {
            self.finish(now, done);
        }
        let commit = self
            .closing
            .as_mut()
            .and_then(|c| c.commit.take())
            .unwrap_or_default();
        if !commit.is_empty() {
            self.ops.commit(commit, Purpose::Close);
        }
    }

    /// Time passed: `polls` is the application's count of `recv`/`poll` calls.
    pub(crate) fn handle_timeout(&mut self, now: Instant, polls: u64) {
        let app_polled = polls != self.polls.0;
        if app_polled {
            self.polls = (polls, now);
        }
        // Passed backoffs are over: what waited on them may go (and no timer stays in the past).
        self.retry_at.take_if(|at| now >= *at);
        self.ops.backoffs_over(now);
        if let Some(f) = &self.in_flight
            && now >= f.deadline
        {
            self.request_timed_out(now);
        }
        if let Some(c) = &self.closing
            && now >= c.deadline
            && self.in_flight.is_some()
            && !matches!(self.state, State::Closing)
        {
            // The rebalance under way did not finish in time: what the close still sends
            // must not queue behind it.
            self.in_flight = None;
            self.lose_coordinator(now);
            self.begin_shutdown(now);
        }
        if let Some(at) = self.next_auto_commit
            && now >= at
            && self.is_resting()
        {
            self.next_auto_commit = self.config.auto_commit_interval.map(|i| now + i);
            self.events.push_back(Event::CommitDue);
        }
        if let State::PollExpired { next_check } = self.state
            && now >= next_check
        {
            if app_polled {
                tracing::info!(group = %self.identity.group, "the application polls again; rejoining");
                self.state = State::Unjoined;
                self.rejoin = true;
                self.settle(now);
            } else {
                self.state = State::PollExpired {
                    next_check: now + self.config.heartbeat_interval,
                };
            }
        }
        if self.heartbeating() && now >= self.next_heartbeat && !self.app_is_live(now) {
            tracing::warn!(
                group = %self.identity.group,
                max_poll_interval = ?self.config.max_poll_interval,
                "the application has not polled within max_poll_interval; leaving the group"
            );
            self.in_flight
                .take_if(|f| matches!(f.flight, Flight::Heartbeat));
            self.leave("consumer poll timeout has expired");
            self.lose_all();
            self.state = State::PollExpired {
                next_check: now + self.config.heartbeat_interval,
            };
        }
    }

    /// Whether the application polled within `max_poll_interval`. An application waiting
    /// inside `recv`/`poll` is polling too: after half the interval without a call it is woken,
    /// and a waiting one comes round its loop and counts a call.
    fn app_is_live(&mut self, now: Instant) -> bool {
        let quiet = now.saturating_duration_since(self.polls.1);
        if quiet >= self.config.max_poll_interval / 2 {
            self.events.push_back(Event::WakeApplication);
        }
        quiet < self.config.max_poll_interval
    }

    /// As leader, after metadata changed: a subscribed topic's partition count differs from
    /// the one the current assignment used (partitions added, a topic appeared or went away).
    pub(crate) fn handle_partition_counts(&mut self, now: Instant, count: impl Fn(&str) -> i32) {
        let Some(counts) = &self.assigned_counts else {
            return;
        };
        if matches!(self.state, State::Stable) && counts.iter().any(|(topic, &n)| count(topic) != n)
        {
            tracing::info!(group = %self.identity.group, "subscribed topics changed partitions; rebalancing");
            self.rejoin = true;
            self.settle(now);
        }
    }

    /// The answer to request `id`; an answer to an abandoned request is dropped.
    pub(crate) fn handle_answer(&mut self, now: Instant, id: u64, answer: Answer) {
        let Some(flight) = self.in_flight.take_if(|f| f.id == id) else {
            tracing::trace!(group = %self.identity.group, id, "answer to an abandoned request dropped");
            return;
        };
        match (flight.flight, answer) {
            (Flight::FindCoordinator, Answer::Coordinator(found)) => self.found(now, found),
            (Flight::Join, Answer::Joined(joined)) => self.joined(now, joined),
            (Flight::Metadata, Answer::Metadata(counts)) => self.assign(now, counts),
            (Flight::Sync, Answer::Synced(synced)) => self.synced(now, synced),
            (Flight::Heartbeat, Answer::Heartbeat(code)) => self.heartbeat_answered(now, code),
            (Flight::FetchOffsets(partitions), Answer::Offsets(found)) => {
                self.offsets_found(now, partitions, found);
            }
            (Flight::Op(op), Answer::Committed(codes)) => {
                let step = self.ops.commit_answered(now, op, codes);
                self.apply_step(now, step);
            }
            (Flight::Op(op), Answer::Offsets(found)) => {
                let step = self.ops.lookup_answered(now, op, found);
                self.apply_step(now, step);
            }
            (Flight::Leave, Answer::Left(result)) => {
                tracing::debug!(group = %self.identity.group, ?result, "left the group");
            }
            (flight, answer) => {
                tracing::warn!(group = %self.identity.group, ?flight, ?answer, "answer of the wrong kind dropped");
            }
        }
        if self.closing.is_some() && self.in_flight.is_none() && self.finishing_rebalance_done() {
            self.begin_shutdown(now);
        }
    }

    /// While closing: whether the join or sync that was allowed to finish has.
    fn finishing_rebalance_done(&self) -> bool {
        !matches!(self.state, State::Assigning(_) | State::Syncing { .. })
    }

    fn request_timed_out(&mut self, now: Instant) {
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        tracing::debug!(group = %self.identity.group, flight = ?flight.flight, "request timed out");
        match flight.flight {
            Flight::Op(op) => {
                let step = self.ops.timed_out(now, op);
                self.apply_step(now, step);
            }
            Flight::Leave => self.events.push_back(Event::DropCoordinator),
            Flight::Metadata => {
                // The driver answers from its cached picture; a refresh that never ends
                // restarts the rebalance.
                self.state = State::Joining;
            }
            _ => self.interrupt(now, Verdict::CoordinatorLost),
        }
    }

    // ---- what next ------------------------------------------------------------------------

    /// The next request to send, if any may go now.
    pub(crate) fn poll_request(&mut self, now: Instant) -> Option<Outgoing> {
        if self.in_flight.is_some() || matches!(self.state, State::Closed) {
            return None;
        }
        if let Some(leave) = self.pending_leave.take() {
            return Some(self.send_with(now, Flight::Leave, leave));
        }
        let closing = self.closing.is_some();
        if !closing && self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        if self.needs_coordinator(now) && self.coordinator.is_none() {
            return Some(self.send(now, Flight::FindCoordinator));
        }
        match &self.state {
            State::Joining if !closing => return Some(self.send(now, Flight::Join)),
            State::Assigning(_) => return Some(self.send(now, Flight::Metadata)),
            State::Syncing { .. } => return Some(self.send(now, Flight::Sync)),
            _ => {}
        }
        if self.heartbeating() && now >= self.next_heartbeat && !closing {
            return Some(self.send(now, Flight::Heartbeat));
        }
        let by_ownership = !self.subscription.is_empty() || self.in_group();
        match self.ops.next(now, &self.owned, by_ownership) {
            Some(Ok(op)) => return Some(self.send(now, Flight::Op(op))),
            Some(Err(done)) => {
                self.finish(now, done);
                return self.poll_request(now);
            }
            None => {}
        }
        if matches!(self.state, State::FetchingOffsets) && !closing {
            let partitions: Vec<TopicPartition> = self.pending.iter().cloned().collect();
            return Some(self.send(now, Flight::FetchOffsets(partitions)));
        }
        if matches!(self.state, State::Closing) && self.ops.is_empty() {
            return self.finish_close(now);
        }
        None
    }

    /// Leaves (once), then reports the close done.
    fn finish_close(&mut self, now: Instant) -> Option<Outgoing> {
        let closing = self.closing.as_mut()?;
        if !closing.left {
            closing.left = true;
            if self.in_group() {
                self.leave("the consumer is closing");
                if let Some(leave) = self.pending_leave.take() {
                    return Some(self.send_with(now, Flight::Leave, leave));
                }
            }
        }
        let token = self.closing.as_ref().and_then(|c| c.token);
        self.state = State::Closed;
        self.events.push_back(Event::DropCoordinator);
        self.events.push_back(Event::Closed { token });
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut at: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                at = Some(at.map_or(t, |a| a.min(t)));
            }
        };
        // Only timers whose expiry does something: one left in the past would spin the driver.
        consider(self.in_flight.as_ref().map(|f| f.deadline));
        if let Some(c) = &self.closing {
            if self.in_flight.is_some() && !matches!(self.state, State::Closing) {
                consider(Some(c.deadline));
            }
            consider(self.ops.next_retry());
            return at;
        }
        consider(self.retry_at);
        if self.heartbeating() && self.in_flight.is_none() {
            consider(Some(self.next_heartbeat));
        }
        if self.is_resting() {
            consider(self.next_auto_commit);
        }
        if let State::PollExpired { next_check } = self.state {
            consider(Some(next_check));
        }
        consider(self.ops.next_retry());
        at
    }

    /// Whether anything waiting needs the coordinator now.
    fn needs_coordinator(&self, now: Instant) -> bool {
        let step = match &self.state {
            State::Joining => self.closing.is_none(),
            State::Syncing { .. } | State::FetchingOffsets => true,
            State::Revoking(_) | State::Stable => self.in_group(),
            _ => false,
        };
        step || self.ops.any_ready(now)
    }

    /// Whether the member heartbeats in this state.
    fn heartbeating(&self) -> bool {
        self.in_group()
            && self.coordinator.is_some()
            && matches!(self.state, State::Stable | State::Revoking(_))
    }

    /// Resting states wait for inputs; the others are steps that end by [`settle`](Self::settle).
    fn is_resting(&self) -> bool {
        matches!(
            self.state,
            State::Unjoined | State::Stable | State::PollExpired { .. } | State::Fatal
        )
    }

    /// Picks the next state once a step is over (or an input changed what is wanted).
    fn settle(&mut self, now: Instant) {
        if self.closing.is_some() {
            self.begin_shutdown(now);
            return;
        }
        if matches!(self.state, State::Fatal | State::PollExpired { .. }) {
            return;
        }
        if self.subscription.is_empty() {
            if !self.owned.is_empty() {
                let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
                if self.revoke(now, owned) {
                    return;
                }
            }
            if self.in_group() {
                self.leave("the consumer unsubscribed");
            }
            self.state = State::Unjoined;
            return;
        }
        if !self.pending.is_empty() && (!self.rejoin || self.config.cooperative()) {
            self.state = State::FetchingOffsets;
        } else if self.rejoin || !self.in_group() {
            self.start_rebalance(now);
        } else {
            self.state = State::Stable;
        }
    }

    /// Eager: every owned partition is given up first. Cooperative: the member keeps them
    /// and lists them in its subscription.
    fn start_rebalance(&mut self, now: Instant) {
        if !self.config.cooperative() && !self.owned.is_empty() {
            let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
            if self.revoke(now, owned) {
                return;
            }
        }
        self.state = State::Joining;
    }

    /// Asks the application for `partitions` back; `false` when none of them was ever
    /// handed out (those are simply dropped) and nothing need be waited for.
    fn revoke(&mut self, _now: Instant, partitions: Vec<TopicPartition>) -> bool {
        let (held, never_handed_out): (Vec<_>, Vec<_>) = partitions
            .into_iter()
            .filter(|tp| self.owned.contains(tp))
            .partition(|tp| !self.pending.contains(tp));
        for tp in &never_handed_out {
            self.pending.remove(tp);
            self.owned.remove(tp);
        }
        if held.is_empty() {
            return false;
        }
        self.next_revoke_id += 1;
        let id = self.next_revoke_id;
        tracing::debug!(group = %self.identity.group, id, partitions = held.len(), "revoking");
        self.events.push_back(Event::Revoke {
            id,
            partitions: held.clone(),
        });
        self.state = State::Revoking(Revocation {
            id,
            partitions: held,
            answered: false,
        });
        true
    }

    // ---- sending --------------------------------------------------------------------------

    fn send(&mut self, now: Instant, flight: Flight) -> Outgoing {
        let request = self.request_for(&flight);
        self.send_with(now, flight, request)
    }

    fn send_with(&mut self, now: Instant, flight: Flight, request: Request) -> Outgoing {
        let timeout = match flight {
            Flight::Join | Flight::Sync => self.config.join_timeout(),
            // Finding includes dialling.
            Flight::FindCoordinator => self.config.request_timeout * 2,
            _ => self.config.request_timeout,
        };
        if matches!(flight, Flight::Heartbeat) {
            self.next_heartbeat = now + self.config.heartbeat_interval;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.in_flight = Some(InFlight {
            id,
            flight,
            deadline: now + timeout,
        });
        Outgoing { id, request }
    }

    fn request_for(&mut self, flight: &Flight) -> Request {
        let identity = self.identity.clone();
        match flight {
            Flight::FindCoordinator => {
                let seed = self.seed;
                self.seed = self.seed.wrapping_add(1);
                Request::FindCoordinator { seed }
            }
            Flight::Join => {
                let owned: Vec<TopicPartition> = if self.config.cooperative() {
                    self.owned.iter().cloned().collect()
                } else {
                    Vec::new()
                };
                let mut protocols = Vec::with_capacity(self.config.assignors.len());
                for assignor in &self.config.assignors {
                    match protocol::encode_subscription(
                        &self.subscription,
                        &owned,
                        identity.generation,
                    ) {
                        Ok(bytes) => protocols.push((assignor.protocol_name(), bytes)),
                        Err(e) => {
                            tracing::warn!(group = %identity.group, error = %e, "subscription cannot be encoded")
                        }
                    }
                }
                tracing::debug!(group = %identity.group, member = %identity.member_id, "joining");
                Request::Join {
                    identity,
                    protocols,
                    session_timeout: self.config.session_timeout,
                    rebalance_timeout: self.config.max_poll_interval,
                }
            }
            Flight::Metadata => Request::Metadata {
                topics: match &self.state {
                    State::Assigning(joined) => leader::subscribed_topics(&joined.members),
                    _ => BTreeSet::new(),
                },
            },
            Flight::Sync => {
                let (protocol, assignments) = match &self.state {
                    State::Syncing {
                        protocol,
                        assignments,
                    } => (protocol.protocol_name(), assignments.clone()),
                    _ => ("", Vec::new()),
                };
                Request::Sync {
                    identity,
                    protocol,
                    assignments,
                }
            }
            Flight::Heartbeat => Request::Heartbeat { identity },
            Flight::FetchOffsets(partitions) | Flight::Op(Op::Lookup { partitions, .. }) => {
                Request::FetchOffsets {
                    identity,
                    partitions: partitions.clone(),
                    require_stable: self.config.read_committed,
                }
            }
            Flight::Op(Op::Commit { offsets, .. }) => Request::Commit {
                identity,
                offsets: offsets.clone(),
            },
            // Built by `leave`, which knows the reason and the identity that leaves.
            Flight::Leave => Request::Leave {
                identity,
                reason: "leaving",
            },
        }
    }

    // ---- answers --------------------------------------------------------------------------

    fn found(&mut self, now: Instant, found: Result<Result<i32, ErrorCode>, NetError>) {
        match found {
            Ok(Ok(node)) => {
                tracing::debug!(group = %self.identity.group, node, "coordinator found");
                self.coordinator = Some(node);
                self.retry_at = None;
                self.backoff.reset();
            }
            Ok(Err(code)) if is_fatal(code) => {
                for done in self.ops.fail_all(|| ConsumeError::Group(code)) {
                    self.finish(now, done);
                }
                if self.wants_membership() {
                    self.interrupt(now, Verdict::Fatal(code));
                }
            }
            Ok(Err(code)) => {
                tracing::debug!(group = %self.identity.group, %code, "no coordinator yet");
                self.coordinator_not_found(now);
            }
            Err(e) => {
                tracing::debug!(group = %self.identity.group, error = %e, "finding the coordinator failed");
                self.coordinator_not_found(now);
            }
        }
    }

    /// Every waiting operation loses one attempt; the search goes on after a backoff.
    fn coordinator_not_found(&mut self, now: Instant) {
        for done in self.ops.coordinator_not_found() {
            self.finish(now, done);
        }
        if self.closing.is_some()
            && self.ops.is_empty()
            && let Some(c) = self.closing.as_mut()
        {
            // Nothing left to commit: the close does not wait for a coordinator to leave.
            c.left = true;
        }
        self.interrupt(now, Verdict::CoordinatorLost);
    }

    fn joined(&mut self, now: Instant, joined: Result<JoinAnswer, NetError>) {
        let answer = match joined {
            Ok(answer) => answer,
            Err(e) => {
                tracing::debug!(group = %self.identity.group, error = %e, "JoinGroup failed");
                return self.interrupt(now, Verdict::CoordinatorLost);
            }
        };
        match answer.error {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                // KIP-394: rejoin at once with the id the coordinator gave.
                self.identity.member_id = answer.member_id;
                return;
            }
            ErrorCode::REBALANCE_IN_PROGRESS => return,
            code => return self.interrupt(now, classify(code)),
        }
        let name = answer.protocol_name.as_deref().unwrap_or_default();
        let Some(protocol) = assignor_named(name) else {
            return self.interrupt(now, Verdict::Fatal(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
        };
        self.identity.member_id = answer.member_id;
        self.identity.generation = answer.generation;
        let leader = answer.leader == self.identity.member_id;
        tracing::debug!(
            group = %self.identity.group,
            member = %self.identity.member_id,
            generation = self.identity.generation,
            protocol = name,
            leader,
            "joined"
        );
        if leader {
            let members = leader::subscriptions(&answer.members);
            self.events.push_back(Event::WatchTopics(
                leader::subscribed_topics(&members).into_iter().collect(),
            ));
            self.state = State::Assigning(Joined { protocol, members });
        } else {
            self.assigned_counts = None;
            self.state = State::Syncing {
                protocol,
                assignments: Vec::new(),
            };
        }
    }

    /// The leader has the partition counts: every member's assignment goes into the sync.
    fn assign(&mut self, now: Instant, counts: BTreeMap<Arc<str>, i32>) {
        let State::Assigning(joined) = std::mem::replace(&mut self.state, State::Joining) else {
            return;
        };
        match leader::assign(joined.protocol, &joined.members, &counts) {
            Ok(assignments) => {
                self.assigned_counts = Some(counts);
                self.state = State::Syncing {
                    protocol: joined.protocol,
                    assignments,
                };
            }
            Err(e) => self.interrupt_with(now, ConsumeError::Network(e.into())),
        }
    }

    fn synced(&mut self, now: Instant, synced: Result<(ErrorCode, Bytes), NetError>) {
        let (code, bytes) = match synced {
            Ok(answer) => answer,
            Err(e) => {
                tracing::debug!(group = %self.identity.group, error = %e, "SyncGroup failed");
                return self.interrupt(now, Verdict::CoordinatorLost);
            }
        };
        match code {
            ErrorCode::NONE => {}
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.state = State::Joining;
                return;
            }
            code => return self.interrupt(now, classify(code)),
        }
        let assigned = match protocol::decode_assignment(&bytes) {
            Ok(partitions) => partitions,
            Err(e) => {
                tracing::warn!(group = %self.identity.group, error = %e, "the leader's assignment is malformed");
                return self.interrupt_with(now, ConsumeError::Network(e.into()));
            }
        };
        // Only now: a join or sync that failed on the way leaves the rejoin pending (Java
        // keeps "rejoin needed" until the SyncGroup is answered).
        self.rejoin = false;
        self.events.push_back(Event::Metric(Metric::Rebalanced));
        let assigned: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        self.events.push_back(Event::WatchTopics(
            assigned
                .iter()
                .map(|tp| tp.topic.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ));
        let revoked: Vec<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        tracing::info!(
            group = %self.identity.group,
            generation = self.identity.generation,
            assigned = assigned.len(),
            added = added.len(),
            revoked = revoked.len(),
            "assignment received"
        );
        self.next_heartbeat = now + self.config.heartbeat_interval;
        self.owned.extend(added.iter().cloned());
        self.pending.extend(added);
        self.state = State::Stable;
        if self.closing.is_some() {
            // The close's commit covers what the application holds; nothing is asked of it.
            return;
        }
        // Cooperative: the partitions given up go to their new owner in a follow-up.
        if !revoked.is_empty() {
            self.rejoin = true;
            if self.revoke(now, revoked) {
                return;
            }
        }
        self.settle(now);
    }

    fn heartbeat_answered(&mut self, now: Instant, answer: Result<ErrorCode, NetError>) {
        let code = match answer {
            Ok(code) => code,
            Err(e) => {
                tracing::debug!(group = %self.identity.group, error = %e, "heartbeat failed");
                return self.interrupt(now, Verdict::CoordinatorLost);
            }
        };
        self.events.push_back(Event::Metric(Metric::Heartbeat));
        match code {
            ErrorCode::NONE => {}
            ErrorCode::REBALANCE_IN_PROGRESS => {
                tracing::debug!(group = %self.identity.group, "the group is rebalancing");
                self.rejoin = true;
                if matches!(self.state, State::Stable) {
                    self.settle(now);
                }
            }
            code => self.interrupt(now, classify(code)),
        }
    }

    fn offsets_found(
        &mut self,
        now: Instant,
        partitions: Vec<TopicPartition>,
        found: Result<Result<HashMap<TopicPartition, Option<i64>>, ErrorCode>, NetError>,
    ) {
        if !matches!(self.state, State::FetchingOffsets) {
            return;
        }
        let committed = match found {
            Ok(Ok(found)) => found,
            Ok(Err(ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE)) => {
                return self.interrupt(now, Verdict::CoordinatorLost);
            }
            Ok(Err(code)) if code.is_retriable() => {
                tracing::debug!(group = %self.identity.group, %code, "committed offsets not ready; retrying");
                self.retry_at = Some(now + self.backoff.next_delay());
                return;
            }
            Ok(Err(code)) => return self.interrupt(now, classify(code)),
            Err(_) => return self.interrupt(now, Verdict::CoordinatorLost),
        };
        // Only what is still pending: a partition revoked meanwhile is not handed out.
        let handed: Vec<(TopicPartition, Option<i64>)> = partitions
            .into_iter()
            .filter(|tp| self.pending.remove(tp))
            .map(|tp| {
                let offset = committed.get(&tp).copied().flatten();
                (tp, offset)
            })
            .collect();
        self.backoff.reset();
        if !handed.is_empty() {
            self.events.push_back(Event::Assign(handed));
        }
        self.state = State::Stable;
        self.settle(now);
    }

    /// Carries out what an operation's answer means.
    fn apply_step(&mut self, now: Instant, step: Step) {
        if step.lose_coordinator {
            self.lose_coordinator(now);
        }
        if step.rejoin {
            // The member is gone; the next heartbeat finds out and rejoins.
            self.rejoin = true;
        }
        if let Some(n) = step.committed {
            self.events.push_back(Event::Metric(Metric::Committed(n)));
        }
        if let Some(done) = step.done {
            self.finish(now, done);
        }
    }

    /// An operation is over: its waiter hears how it went, and a revocation's commit
    /// completes the revocation.
    fn finish(&mut self, now: Instant, done: Done) {
        let (purpose, result) = match done {
            Done::Lookup { token, result } => {
                self.events.push_back(Event::LookupDone { token, result });
                return;
            }
            Done::Commit { purpose, result } => (purpose, result),
        };
        if matches!(
            result,
            Err(ConsumeError::Group(_) | ConsumeError::Network(_))
        ) {
            self.events.push_back(Event::Metric(Metric::CommitFailed));
        }
        match purpose {
            Purpose::App(Some(token)) => self.events.push_back(Event::CommitDone { token, result }),
            Purpose::App(None) => {
                if let Err(e) = result {
                    tracing::debug!(group = %self.identity.group, error = %e, "auto-commit failed");
                }
            }
            Purpose::Close => {
                if let Err(e) = result {
                    tracing::warn!(group = %self.identity.group, error = %e, "final commit failed");
                }
            }
            Purpose::Revocation(id) => {
                if let Err(e) = result {
                    tracing::warn!(group = %self.identity.group, error = %e, "commit of revoked partitions failed");
                }
                if let State::Revoking(r) = &self.state
                    && r.id == id
                {
                    for tp in &r.partitions {
                        self.owned.remove(tp);
                        self.ops.forget(tp);
                    }
                    self.state = State::Stable;
                    self.settle(now);
                }
            }
        }
    }

    // ---- failures -------------------------------------------------------------------------

    /// The coordinator is gone: its connection is closed and it is found again after a
    /// backoff.
    fn lose_coordinator(&mut self, now: Instant) {
        if self.coordinator.take().is_some() {
            tracing::debug!(group = %self.identity.group, "coordinator lost; finding it again");
            self.events.push_back(Event::DropCoordinator);
        }
        self.retry_at = Some(now + self.backoff.next_delay());
    }

    /// A step failed with `verdict`.
    fn interrupt(&mut self, now: Instant, verdict: Verdict) {
        match verdict {
            Verdict::Fine => {}
            Verdict::CoordinatorLost => {
                self.in_flight = None;
                self.lose_coordinator(now);
                // A sync or an assignment in progress starts over from the join.
                if matches!(self.state, State::Assigning(_) | State::Syncing { .. }) {
                    self.state = State::Joining;
                }
            }
            Verdict::MemberLost(code) => {
                tracing::info!(group = %self.identity.group, %code, "member fell out of the group; rejoining");
                if code == ErrorCode::UNKNOWN_MEMBER_ID {
                    self.identity.member_id = StrBytes::new();
                }
                self.identity.generation = -1;
                self.lose_all();
                self.state = State::Unjoined;
                self.settle(now);
            }
            Verdict::Fatal(code) => self.interrupt_with(now, ConsumeError::Group(code)),
            Verdict::Refused(code) => {
                tracing::warn!(group = %self.identity.group, %code, "the coordinator refused; retrying after a backoff");
                self.events
                    .push_back(Event::Error(ConsumeError::Group(code)));
                self.retry_at = Some(now + self.backoff.next_delay());
                if matches!(self.state, State::Assigning(_) | State::Syncing { .. }) {
                    self.state = State::Joining;
                }
            }
        }
    }

    /// Membership ends for good with `error`.
    fn interrupt_with(&mut self, now: Instant, error: ConsumeError) {
        tracing::warn!(group = %self.identity.group, %error, "group membership ended");
        self.identity.generation = -1;
        self.lose_all();
        self.events.push_back(Event::Error(error));
        if self.closing.is_some() {
            self.begin_shutdown(now);
        } else {
            self.state = State::Fatal;
        }
    }

    /// Drops every owned partition without a commit and tells the application they were lost.
    fn lose_all(&mut self) {
        let owned = std::mem::take(&mut self.owned);
        self.pending.clear();
        self.assigned_counts = None;
        self.ops.members_partitions_lost();
        if matches!(self.state, State::Revoking(_)) {
            self.state = State::Unjoined;
        }
        if !owned.is_empty() {
            self.events
                .push_back(Event::Lose(owned.into_iter().collect()));
        }
    }

    /// Leaves the group: a dynamic member says so (its LeaveGroup goes out next); a static
    /// member only forgets its generation and keeps its place until its session times out,
    /// so a restart does not rebalance.
    fn leave(&mut self, reason: &'static str) {
        let dynamic = self.identity.instance_id.is_none();
        if dynamic && !self.identity.member_id.is_empty() && self.coordinator.is_some() {
            self.pending_leave = Some(Request::Leave {
                identity: self.identity.clone(),
                reason,
            });
        }
        if dynamic {
            self.identity.member_id = StrBytes::new();
        }
        self.identity.generation = -1;
    }
}
