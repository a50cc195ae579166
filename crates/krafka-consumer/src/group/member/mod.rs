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

mod answers;
mod assignment;
mod config;
mod discovery;
mod flight;
mod leader;
pub(crate) mod messages;
mod ops;
pub(crate) mod outcome;
mod rebalance;
mod requests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use krafka_protocol::{ErrorCode, StrBytes};

use self::assignment::{Holdings, Revocation};
pub(crate) use self::config::MemberConfig;
use self::discovery::Discovery;
use self::flight::{Flight, Flights};
pub(crate) use self::messages::{Answer, Event, Identity, Input, Metric, Outgoing, Request};
use self::ops::{Done, Ops, Purpose, Step};
use self::outcome::Verdict;
use super::Offsets;
use crate::assignor;
use crate::config::AssignorKind;
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

#[derive(Debug)]
struct Closing {
    /// Whoever waits for the close (a second close waits for the first).
    tokens: Vec<u64>,
    /// The close's commit, until queued.
    commit: Option<Offsets>,
    /// When a join or sync still finishing is given up.
    deadline: Instant,
    left: bool,
}

/// One consumer's membership of one group.
#[derive(Debug)]
pub(crate) struct GroupMember {
    config: MemberConfig,
    identity: Identity,
    state: State,
    coordinator: Discovery,
    in_flight: Flights,
    subscription: BTreeSet<Arc<str>>,
    holdings: Holdings,
    /// A rebalance is needed (Java's `rejoinNeeded`).
    rejoin: bool,
    /// As leader: the partition counts the current assignment was computed from.
    assigned_counts: Option<BTreeMap<Arc<str>, i32>>,
    next_heartbeat: Instant,
    next_auto_commit: Option<Instant>,
    /// The application's poll count when last seen to change, and when.
    polls: (u64, Instant),
    ops: Ops,
    closing: Option<Closing>,
    /// A LeaveGroup to send before anything else.
    pending_leave: Option<Request>,
    events: VecDeque<Event>,
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
            coordinator: Discovery::new(&config, seed),
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
            in_flight: Flights::default(),
            subscription: BTreeSet::new(),
            holdings: Holdings::default(),
            rejoin: false,
            assigned_counts: None,
            polls: (0, now),
            ops: Ops::new(retry_backoff),
            closing: None,
            pending_leave: None,
            events: VecDeque::new(),
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
        self.holdings.owned()
    }

    /// The id of the request in flight, if any: the driver drops any other.
    pub(crate) fn in_flight(&self) -> Option<u64> {
        self.in_flight.current().map(|f| f.id)
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
        if let Some(closing) = self.closing.as_mut() {
            // Closing already: nothing more to commit; this close ends with the first.
            closing.tokens.extend(token);
            return;
        }
        tracing::trace!(group = %self.identity.group, commit = commit.len(), "closing");
        self.closing = Some(Closing {
            tokens: token.into_iter().collect(),
            commit: Some(commit),
            deadline: now + self.config.request_timeout,
            left: false,
        });
        self.in_flight.abandon_if(|f| !f.finishes_on_close());
        if !self.in_flight.is_busy() {
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
        self.coordinator.tick(now);
        self.ops.backoffs_over(now);
        if let Some(f) = self.in_flight.current()
            && now >= f.deadline
        {
            self.request_timed_out(now);
        }
        if let Some(c) = &self.closing
            && now >= c.deadline
            && self.in_flight.is_busy()
            && !matches!(self.state, State::Closing)
        {
            // The rebalance under way did not finish in time: what the close still sends
            // must not queue behind it.
            self.in_flight.take();
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
                .abandon_if(|f| matches!(f, Flight::Heartbeat));
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
        let Some(flight) = self.in_flight.answered(id) else {
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
        if self.closing.is_some() && !self.in_flight.is_busy() && self.finishing_rebalance_done() {
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
        if self.in_flight.is_busy() || matches!(self.state, State::Closed) {
            return None;
        }
        if let Some(leave) = self.pending_leave.take() {
            return Some(self.send_with(now, Flight::Leave, leave));
        }
        let closing = self.closing.is_some();
        if !closing && !self.coordinator.may_go(now) {
            return None;
        }
        if self.needs_coordinator(now) && !self.coordinator.known() {
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
        match self.ops.next(now, self.holdings.owned(), by_ownership) {
            Some(Ok(op)) => return Some(self.send(now, Flight::Op(op))),
            Some(Err(done)) => {
                self.finish(now, done);
                return self.poll_request(now);
            }
            None => {}
        }
        if matches!(self.state, State::FetchingOffsets) && !closing {
            let partitions = self.holdings.pending();
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
        let tokens = self
            .closing
            .as_mut()
            .map(|c| std::mem::take(&mut c.tokens))
            .unwrap_or_default();
        self.state = State::Closed;
        self.events.push_back(Event::DropCoordinator);
        self.events.push_back(Event::Closed { tokens });
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
        consider(self.in_flight.current().map(|f| f.deadline));
        if let Some(c) = &self.closing {
            if self.in_flight.is_busy() && !matches!(self.state, State::Closing) {
                consider(Some(c.deadline));
            }
            consider(self.ops.next_retry());
            return at;
        }
        consider(self.coordinator.retry_at());
        if self.heartbeating() && !self.in_flight.is_busy() {
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
            && self.coordinator.known()
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
            if !self.holdings.owned().is_empty() {
                let owned = self.holdings.owned_list();
                if self.revoke(owned) {
                    return;
                }
            }
            if self.in_group() {
                self.leave("the consumer unsubscribed");
            }
            self.state = State::Unjoined;
            return;
        }
        if self.holdings.has_pending() && (!self.rejoin || self.config.cooperative()) {
            self.state = State::FetchingOffsets;
        } else if self.rejoin || !self.in_group() {
            self.start_rebalance();
        } else {
            self.state = State::Stable;
        }
    }

    /// Eager: every owned partition is given up first. Cooperative: the member keeps them
    /// and lists them in its subscription.
    fn start_rebalance(&mut self) {
        if !self.config.cooperative() && !self.holdings.owned().is_empty() {
            let owned = self.holdings.owned_list();
            if self.revoke(owned) {
                return;
            }
        }
        self.state = State::Joining;
    }

    /// Asks the application for `partitions` back; `false` when none of them was ever
    /// handed out (those are simply dropped) and nothing need be waited for.
    fn revoke(&mut self, partitions: Vec<TopicPartition>) -> bool {
        let Some(revocation) = self.holdings.revoke(partitions) else {
            return false;
        };
        tracing::debug!(group = %self.identity.group, id = revocation.id, partitions = revocation.partitions.len(), "revoking");
        self.events.push_back(Event::Revoke {
            id: revocation.id,
            partitions: revocation.partitions.clone(),
        });
        self.state = State::Revoking(revocation);
        true
    }

    // ---- sending --------------------------------------------------------------------------

    fn send(&mut self, now: Instant, flight: Flight) -> Outgoing {
        let request = self.request_for(&flight);
        self.send_with(now, flight, request)
    }

    fn send_with(&mut self, now: Instant, flight: Flight, request: Request) -> Outgoing {
        if matches!(flight, Flight::Heartbeat) {
            self.next_heartbeat = now + self.config.heartbeat_interval;
        }
        let id = self.in_flight.start(now, flight, &self.config);
        Outgoing { id, request }
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
                    self.holdings.give_up(r);
                    for tp in &r.partitions {
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
        if self.coordinator.lost(now) {
            tracing::debug!(group = %self.identity.group, "coordinator lost; finding it again");
            self.events.push_back(Event::DropCoordinator);
        }
    }

    /// A step failed with `verdict`.
    fn interrupt(&mut self, now: Instant, verdict: Verdict) {
        match verdict {
            Verdict::Fine => {}
            Verdict::CoordinatorLost => {
                self.in_flight.take();
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
                self.coordinator.pause(now);
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
        let owned = self.holdings.lose_all();
        self.assigned_counts = None;
        self.ops.members_partitions_lost();
        if matches!(self.state, State::Revoking(_)) {
            self.state = State::Unjoined;
        }
        if !owned.is_empty() {
            self.events.push_back(Event::Lose(owned));
        }
    }

    /// Leaves the group: a dynamic member says so (its LeaveGroup goes out next); a static
    /// member only forgets its generation and keeps its place until its session times out,
    /// so a restart does not rebalance.
    fn leave(&mut self, reason: &'static str) {
        let dynamic = self.identity.instance_id.is_none();
        if dynamic && !self.identity.member_id.is_empty() && self.coordinator.known() {
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
