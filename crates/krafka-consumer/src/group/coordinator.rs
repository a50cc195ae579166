//! The group task: one per consumer with a `group_id`. Its main loop picks the next step from
//! what it knows (no coordinator → find it; no generation or a rebalance pending → rebalance;
//! otherwise serve), and each step returns early with an [`Interrupt`] when the group or the
//! connection says so.
//!
//! While serving it heartbeats every `heartbeat_interval`, answers the application's commits
//! and offset lookups, raises the auto-commit flag every `auto_commit_interval`, watches the
//! application's polls against `max_poll_interval`, and (as leader) watches metadata for
//! partitions added to subscribed topics, which need a new assignment.
//!
//! Errors, as Java's `AbstractCoordinator` and `ConsumerCoordinator` treat them:
//! - NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a failed or timed-out request: find the
//!   coordinator again; membership is kept (the broker still has it until the session
//!   expires).
//! - REBALANCE_IN_PROGRESS: rejoin.
//! - UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION: the member was removed; its partitions are lost
//!   (no commit can be made for them) and it rejoins (UNKNOWN_MEMBER_ID with a fresh id).
//! - FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED, INCONSISTENT_GROUP_PROTOCOL,
//!   INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED: fatal; reported to the application,
//!   which stops getting records from the group.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use krafka_net::{Backoff, BrokerConnection, ClusterMetadata, ConnectionConfig};
use krafka_protocol::{ErrorCode, StrBytes};
use tokio::sync::{mpsc, oneshot};

use super::requests::{self, Member};
use super::revocation::Revocation;
use super::{Command, GroupEvent, Offsets};
use crate::config::{AssignorKind, ConsumerConfig};
use crate::error::ConsumeError;
use crate::record::TopicPartition;
use crate::state::Shared;

/// Why a step stopped early.
#[derive(Debug)]
pub(super) enum Interrupt {
    /// The coordinator is unknown or unreachable: find it again.
    CoordinatorLost,
    /// The member is no longer in the group (the code says why): its partitions are lost.
    MemberLost(ErrorCode),
    /// The group refused the member for good.
    Fatal(ConsumeError),
    /// The member left on its own (the application stopped polling): its partitions are lost.
    Left,
    /// The coordinator refused with an error that is neither about the coordinator nor the
    /// membership (TOPIC_AUTHORIZATION_FAILED on an offset lookup, …): reported to the
    /// application, then retried after a backoff.
    Refused(ErrorCode),
    /// The consumer is closing.
    Close,
}

pub(super) type Step<T> = Result<T, Interrupt>;

/// The coordinator, once found.
pub(super) struct CoordinatorConn {
    pub node: i32,
    pub conn: BrokerConnection,
}

pub(crate) struct GroupTask {
    pub(super) shared: Arc<Shared>,
    pub(super) metadata: ClusterMetadata,
    pub(super) config: Arc<ConsumerConfig>,
    /// The dedicated connection's settings: a request timeout long enough for a JoinGroup.
    conn_config: Arc<ConnectionConfig>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    /// Commands that arrived while a join or sync was in flight, served afterwards.
    pub(super) deferred: Vec<Command>,
    pub(super) coordinator: Option<CoordinatorConn>,
    pub(super) member: Member,
    /// The assignor the group chose in the current generation.
    pub(super) protocol: Option<AssignorKind>,
    pub(super) subscription: BTreeSet<Arc<str>>,
    /// Every partition the current generation gave this member.
    pub(super) owned: BTreeSet<TopicPartition>,
    /// The revocation the application has been asked for and has not answered.
    pub(super) revocation: Option<Revocation>,
    /// Owned partitions whose committed offsets are still to be looked up (not yet handed to
    /// the fetcher).
    pub(super) pending_offsets: BTreeSet<TopicPartition>,
    /// A rebalance is needed (a heartbeat said so, the subscription changed, a cooperative
    /// revocation needs its follow-up).
    pub(super) rejoin: bool,
    /// As leader: the partition counts the current assignment was computed from.
    pub(super) assigned_counts: Option<BTreeMap<Arc<str>, i32>>,
    pub(super) backoff: Backoff,
    pub(super) next_heartbeat: Instant,
    next_auto_commit: Instant,
    next_revoke_id: u64,
    /// The application's poll counter when last seen to change, and when.
    poll_seen: (u64, Instant),
    /// The member left after a poll timeout; it rejoins once the application polls again.
    pub(super) poll_expired: bool,
    /// A fatal group error ended membership for good.
    fatal: bool,
    /// The close request, once it came.
    pub(super) closing: Option<(Offsets, Option<oneshot::Sender<()>>)>,
    /// What auto-commit last committed, so unchanged offsets are not sent again.
    pub(super) last_auto_commit: HashMap<TopicPartition, i64>,
    seed: usize,
}

/// Heartbeats and commits wait at most this long even on the dedicated connection, whose own
/// timeout is stretched for JoinGroup.
pub(super) fn short_timeout(config: &ConsumerConfig) -> Duration {
    config.request_timeout
}

impl GroupTask {
    pub(crate) fn new(
        shared: Arc<Shared>,
        metadata: ClusterMetadata,
        config: Arc<ConsumerConfig>,
        group: String,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let mut conn_config = metadata.pool().config().clone();
        // Java: a JoinGroup may take the whole rebalance timeout, plus 5 s of slack.
        conn_config.request_timeout = conn_config
            .request_timeout
            .max(config.max_poll_interval + Duration::from_secs(5));
        let now = Instant::now();
        let seed = group
            .bytes()
            .fold(now.elapsed().subsec_nanos() as usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
        Self {
            backoff: Backoff::new(config.retry_backoff, config.retry_backoff_max, seed as u64),
            member: Member {
                group: StrBytes::from_string(group),
                member_id: StrBytes::new(),
                generation: -1,
                instance_id: config.group_instance_id.clone().map(StrBytes::from_string),
            },
            next_auto_commit: now + config.auto_commit_interval,
            shared,
            metadata,
            config,
            conn_config: Arc::new(conn_config),
            commands,
            deferred: Vec::new(),
            coordinator: None,
            protocol: None,
            subscription: BTreeSet::new(),
            owned: BTreeSet::new(),
            pending_offsets: BTreeSet::new(),
            revocation: None,
            rejoin: false,
            assigned_counts: None,
            next_heartbeat: now,
            next_revoke_id: 1,
            poll_seen: (0, now),
            poll_expired: false,
            fatal: false,
            closing: None,
            last_auto_commit: HashMap::new(),
            seed,
        }
    }

    /// Whether this member should be in the group now.
    fn wants_membership(&self) -> bool {
        !self.subscription.is_empty() && !self.fatal && !self.poll_expired
    }

    pub(crate) async fn run(mut self) {
        tracing::debug!(group = %self.member.group, "group task started");
        while self.closing.is_none() {
            let step = if !self.wants_membership() {
                if self.member.generation >= 0 {
                    self.leave("unsubscribed").await;
                }
                self.serve().await
            } else if self.coordinator.is_none() {
                self.discover().await
            } else if self.revocation.is_some() {
                self.await_revocation().await
            } else if self.rejoin || self.member.generation < 0 {
                self.rebalance().await
            } else if !self.pending_offsets.is_empty() {
                self.hand_out_pending().await
            } else {
                self.serve().await
            };
            tracing::trace!(group = %self.member.group, ?step, "step done");
            if let Err(interrupt) = step {
                self.interrupted(interrupt).await;
            }
        }
        self.shutdown().await;
        tracing::debug!(group = %self.member.group, "group task stopped");
    }

    async fn interrupted(&mut self, interrupt: Interrupt) {
        match interrupt {
            Interrupt::Close => {}
            Interrupt::CoordinatorLost => {
                tracing::debug!(group = %self.member.group, "coordinator lost; finding it again");
                self.drop_coordinator();
                let delay = self.backoff.next_delay();
                self.pause(delay).await;
                // Requests that came meanwhile are not held up while the search goes on.
                for command in std::mem::take(&mut self.deferred) {
                    match command {
                        Command::Commit {
                            reply: Some(reply), ..
                        } => {
                            let _ = reply.send(Err(ConsumeError::Group(
                                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                            )));
                        }
                        Command::Committed { reply, .. } => {
                            let _ = reply.send(Err(ConsumeError::Group(
                                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                            )));
                        }
                        Command::Commit { reply: None, .. } => {}
                        other => self.deferred.push(other),
                    }
                }
            }
            Interrupt::MemberLost(code) => {
                tracing::info!(group = %self.member.group, %code, "member fell out of the group; rejoining");
                if code == ErrorCode::UNKNOWN_MEMBER_ID {
                    self.member.member_id = StrBytes::new();
                }
                self.member.generation = -1;
                self.lose_all();
            }
            Interrupt::Refused(code) => {
                tracing::warn!(group = %self.member.group, %code, "the coordinator refused; retrying after a backoff");
                self.report(ConsumeError::Group(code));
                let delay = self.backoff.next_delay();
                self.pause(delay).await;
            }
            Interrupt::Left => {
                self.member.generation = -1;
                self.lose_all();
            }
            Interrupt::Fatal(error) => {
                tracing::warn!(group = %self.member.group, %error, "group membership ended");
                self.fatal = true;
                self.member.generation = -1;
                self.lose_all();
                self.report(error);
            }
        }
    }

    /// Queues an error for the application.
    pub(super) fn report(&self, error: ConsumeError) {
        self.shared.state.lock().errors.push_back(error);
        self.shared.data_ready.notify_one();
    }

    /// Publishes `event` to the application and wakes it.
    pub(super) fn publish(&self, event: GroupEvent) {
        self.shared.state.lock().group_events.push_back(event);
        self.shared.group_changes.fetch_add(1, Ordering::AcqRel);
        self.shared.data_ready.notify_one();
    }

    pub(super) fn next_revoke_id(&mut self) -> u64 {
        self.next_revoke_id += 1;
        self.next_revoke_id
    }

    /// Removes every owned partition from the fetcher without a commit, and tells the
    /// application they were lost.
    pub(super) fn lose_all(&mut self) {
        let owned = std::mem::take(&mut self.owned);
        self.pending_offsets.clear();
        self.revocation = None;
        self.assigned_counts = None;
        self.last_auto_commit.clear();
        let mut state = self.shared.state.lock();
        // A revocation the application has not run yet is void: the partitions are lost.
        state
            .group_events
            .retain(|e| !matches!(e, GroupEvent::Revoke { .. }));
        let lost: Vec<TopicPartition> = owned
            .into_iter()
            .filter(|tp| state.partitions.contains_key(tp))
            .collect();
        for tp in &lost {
            state.discard_ready(tp);
            state.partitions.remove(tp);
        }
        drop(state);
        if !lost.is_empty() {
            self.publish(GroupEvent::Lost(lost));
        }
    }

    pub(super) fn drop_coordinator(&mut self) {
        if let Some(old) = self.coordinator.take() {
            tracing::debug!(group = %self.member.group, node = old.node, "dropping the coordinator connection");
            tokio::spawn(async move { old.conn.close().await });
        }
    }

    /// Finds the coordinator and dials it.
    pub(super) async fn discover(&mut self) -> Step<()> {
        let metadata = self.metadata.clone();
        let group = self.member.group.to_string();
        let seed = self.seed;
        self.seed = self.seed.wrapping_add(1);
        let conn_config = Arc::clone(&self.conn_config);
        let found = self
            .finishing(async move {
                let found = requests::find_coordinator(&metadata, &group, seed).await;
                match found {
                    Ok(Ok(addr)) => BrokerConnection::connect(&addr.addr, conn_config)
                        .await
                        .map(|conn| Ok((addr.node, conn))),
                    Ok(Err(code)) => Ok(Err(code)),
                    Err(e) => Err(e),
                }
            })
            .await?;
        match found {
            Ok(Ok((node, conn))) => {
                tracing::debug!(group = %self.member.group, node, "coordinator found");
                self.coordinator = Some(CoordinatorConn { node, conn });
                self.backoff.reset();
                Ok(())
            }
            Ok(Err(code)) if is_fatal(code) => Err(Interrupt::Fatal(ConsumeError::Group(code))),
            Ok(Err(code)) => {
                tracing::debug!(group = %self.member.group, %code, "no coordinator yet");
                Err(Interrupt::CoordinatorLost)
            }
            Err(e) => {
                tracing::debug!(group = %self.member.group, error = %e, "finding the coordinator failed");
                Err(Interrupt::CoordinatorLost)
            }
        }
    }

    /// The coordinator connection, or [`Interrupt::CoordinatorLost`].
    pub(super) fn conn(&self) -> Step<BrokerConnection> {
        match &self.coordinator {
            Some(c) if c.conn.is_usable() => Ok(c.conn.clone()),
            _ => Err(Interrupt::CoordinatorLost),
        }
    }

    /// Runs `request` while still taking commands: a close interrupts it (the request's
    /// answer, if any, is dropped), anything else waits in `deferred`.
    pub(super) async fn interruptible<T>(&mut self, request: impl Future<Output = T>) -> Step<T> {
        self.run_request(request, false).await
    }

    /// Like [`interruptible`](Self::interruptible), but a close lets the request finish
    /// (within `request_timeout`): a rebalance under way completes, so the close's commit is
    /// made in a generation the coordinator accepts.
    pub(super) async fn finishing<T>(&mut self, request: impl Future<Output = T>) -> Step<T> {
        self.run_request(request, true).await
    }

    async fn run_request<T>(
        &mut self,
        request: impl Future<Output = T>,
        finish_on_close: bool,
    ) -> Step<T> {
        if self.closing.is_some() && !finish_on_close {
            return Err(Interrupt::Close);
        }
        tokio::pin!(request);
        let mut deadline: Option<Instant> = self
            .closing
            .is_some()
            .then(|| Instant::now() + self.config.request_timeout);
        loop {
            let give_up = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                out = &mut request => return Ok(out),
                () = give_up => {
                    // The broker answers a connection in order: what the close still sends
                    // must not queue behind the abandoned request.
                    self.drop_coordinator();
                    return Err(Interrupt::Close);
                }
                command = self.commands.recv(), if self.closing.is_none() => {
                    match command {
                        None => self.closing = Some((Vec::new(), None)),
                        Some(Command::Close { commit, reply }) => {
                            self.closing = Some((commit, Some(reply)));
                        }
                        Some(other) => {
                            self.deferred.push(other);
                            continue;
                        }
                    }
                    if !finish_on_close {
                        return Err(Interrupt::Close);
                    }
                    deadline = Some(Instant::now() + self.config.request_timeout);
                }
            }
        }
    }

    /// Waits `delay`, still serving commands.
    async fn pause(&mut self, delay: Duration) {
        let _ = self.interruptible(tokio::time::sleep(delay)).await;
    }

    /// The stable state: heartbeats, commands, timers. Returns when the main loop should
    /// pick its next step (a rebalance is needed, the subscription changed, …).
    async fn serve(&mut self) -> Step<()> {
        loop {
            while !self.deferred.is_empty() {
                let command = self.deferred.remove(0);
                if self.command(command).await? {
                    return Ok(());
                }
            }
            if self.closing.is_some() {
                return Err(Interrupt::Close);
            }
            let member = self.member.generation >= 0;
            let tick = if member {
                self.next_heartbeat
            } else {
                Instant::now() + self.config.heartbeat_interval
            };
            let auto_commit = self.config.auto_commit();
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => {
                        self.closing = Some((Vec::new(), None));
                        return Err(Interrupt::Close);
                    }
                    Some(command) => {
                        if self.command(command).await? {
                            return Ok(());
                        }
                    }
                },
                () = tokio::time::sleep_until(self.next_auto_commit.into()), if auto_commit => {
                    self.next_auto_commit = Instant::now() + self.config.auto_commit_interval;
                    self.shared.commit_due.store(true, Ordering::Release);
                    // An application waiting for records commits too (Java's poll does).
                    self.shared.data_ready.notify_one();
                }
                () = tokio::time::sleep_until(tick.into()) => {
                    if self.tick(member).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// A heartbeat tick (or, outside the group, a check for the application polling again).
    /// `true` when the main loop should move on.
    async fn tick(&mut self, member: bool) -> Step<bool> {
        let now = Instant::now();
        if !member {
            if self.poll_expired && self.app_polled(now) {
                tracing::info!(group = %self.member.group, "the application polls again; rejoining");
                self.poll_expired = false;
                return Ok(true);
            }
            return Ok(false);
        }
        if !self.app_is_live(now) {
            tracing::warn!(
                group = %self.member.group,
                max_poll_interval = ?self.config.max_poll_interval,
                "the application has not polled within max_poll_interval; leaving the group"
            );
            self.poll_expired = true;
            self.leave("consumer poll timeout has expired").await;
            self.lose_all();
            return Ok(true);
        }
        self.heartbeat().await?;
        if self.leader_sees_new_partitions() {
            tracing::info!(group = %self.member.group, "subscribed topics changed partitions; rebalancing");
            self.rejoin = true;
        }
        Ok(self.rejoin)
    }

    /// One heartbeat; a rebalance under way sets `rejoin`.
    pub(super) async fn heartbeat(&mut self) -> Step<()> {
        self.next_heartbeat = Instant::now() + self.config.heartbeat_interval;
        let conn = self.conn()?;
        let member = self.member.clone();
        let timeout = short_timeout(&self.config);
        let sent = self
            .interruptible(tokio::time::timeout(timeout, async move {
                requests::heartbeat(&conn, &member).await
            }))
            .await?;
        let code = match sent {
            Ok(Ok(code)) => code,
            Ok(Err(e)) => {
                tracing::debug!(group = %self.member.group, error = %e, "heartbeat failed");
                return Err(Interrupt::CoordinatorLost);
            }
            Err(_) => {
                tracing::debug!(group = %self.member.group, "heartbeat timed out");
                return Err(Interrupt::CoordinatorLost);
            }
        };
        self.shared.metrics.heartbeat();
        match code {
            ErrorCode::NONE => Ok(()),
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.rejoin = true;
                Ok(())
            }
            code => classify(code),
        }
    }

    /// Whether the application has called `recv`/`poll` within `max_poll_interval`.
    ///
    /// An application waiting inside `recv`/`poll` for records is polling too: after half the
    /// interval without a call, it is woken, and a waiting one comes round its loop and counts
    /// a call. One busy elsewhere does not (and only takes the wake-up at its next call).
    pub(super) fn app_is_live(&mut self, now: Instant) -> bool {
        if self.app_polled(now) {
            return true;
        }
        let quiet = now.duration_since(self.poll_seen.1);
        if quiet >= self.config.max_poll_interval / 2 {
            self.shared.data_ready.notify_one();
        }
        quiet < self.config.max_poll_interval
    }

    /// Whether the application polled since last asked.
    fn app_polled(&mut self, now: Instant) -> bool {
        let polls = self.shared.polls.load(Ordering::Relaxed);
        if polls != self.poll_seen.0 {
            self.poll_seen = (polls, now);
            return true;
        }
        false
    }

    /// As leader: whether a subscribed topic's partition count differs from the one the
    /// current assignment used (partitions were added, a topic appeared or went away).
    fn leader_sees_new_partitions(&self) -> bool {
        let Some(counts) = &self.assigned_counts else {
            return false;
        };
        let snapshot = self.metadata.snapshot();
        counts
            .iter()
            .any(|(topic, &count)| super::rebalance::partition_count(&snapshot, topic) != count)
    }

    /// Serves one command; `true` when the main loop should move on.
    pub(super) async fn command(&mut self, command: Command) -> Step<bool> {
        match command {
            Command::Subscribe(topics) => {
                if topics == self.subscription {
                    return Ok(false);
                }
                self.metadata
                    .add_topics(topics.iter().map(|t| t.to_string()));
                self.subscription = topics;
                if self.subscription.is_empty() {
                    self.revoke_all().await?;
                } else {
                    self.rejoin = true;
                }
                Ok(true)
            }
            Command::Close { commit, reply } => {
                self.closing = Some((commit, Some(reply)));
                Err(Interrupt::Close)
            }
            request => {
                self.request(request).await;
                Ok(false)
            }
        }
    }

    /// Serves a commit, an offset lookup or a revocation's answer (a subscription change or a
    /// close is the caller's to handle).
    pub(super) async fn request(&mut self, command: Command) {
        match command {
            Command::Commit { offsets, reply } => {
                let auto = reply.is_none();
                let result = self.commit(offsets, auto).await;
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                } else if let Err(e) = result {
                    tracing::debug!(group = %self.member.group, error = %e, "auto-commit failed");
                }
            }
            Command::Committed { partitions, reply } => {
                let result = self.committed(&partitions).await;
                let _ = reply.send(result);
            }
            Command::Revoked { id, commit } => self.revoked(id, commit).await,
            Command::Subscribe(_) | Command::Close { .. } => {}
        }
    }

    /// Leaves the group (a static member only forgets its generation: it keeps its place
    /// until its session times out, so a restart does not rebalance).
    pub(super) async fn leave(&mut self, reason: &str) {
        let dynamic = self.member.instance_id.is_none();
        if dynamic
            && !self.member.member_id.is_empty()
            && let Ok(conn) = self.conn()
        {
            let member = self.member.clone();
            let result = tokio::time::timeout(
                short_timeout(&self.config),
                requests::leave(&conn, &member, reason),
            )
            .await;
            tracing::debug!(group = %self.member.group, ?result, reason, "left the group");
        }
        if dynamic {
            self.member.member_id = StrBytes::new();
        }
        self.member.generation = -1;
        self.protocol = None;
    }

    /// Unsubscribing: hands every partition back (with its commit) and leaves.
    async fn revoke_all(&mut self) -> Step<()> {
        let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        if !owned.is_empty() {
            self.revoke(owned).await?;
        }
        self.leave("the consumer unsubscribed").await;
        Ok(())
    }

    /// Commits what the application gave with its close, leaves and closes the connection.
    async fn shutdown(&mut self) {
        let (commit, reply) = self.closing.take().unwrap_or_default();
        tracing::trace!(group = %self.member.group, commit = commit.len(), "shutting down");
        if !commit.is_empty()
            && let Err(e) = self.commit(commit, false).await
        {
            tracing::warn!(group = %self.member.group, error = %e, "final commit failed");
        }
        if self.member.generation >= 0 {
            self.leave("the consumer is closing").await;
        }
        if let Some(c) = self.coordinator.take() {
            c.conn.close().await;
        }
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }
}

/// Group errors that end membership for good.
pub(super) fn is_fatal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::FENCED_INSTANCE_ID
            | ErrorCode::GROUP_AUTHORIZATION_FAILED
            | ErrorCode::INCONSISTENT_GROUP_PROTOCOL
            | ErrorCode::INVALID_SESSION_TIMEOUT
            | ErrorCode::GROUP_MAX_SIZE_REACHED
            | ErrorCode::GROUP_ID_NOT_FOUND
            | ErrorCode::UNSUPPORTED_VERSION
            | ErrorCode::INVALID_GROUP_ID
    )
}

/// What a group error code means for the member (NONE and REBALANCE_IN_PROGRESS are handled
/// by the callers, which know what to do next).
pub(super) fn classify(code: ErrorCode) -> Step<()> {
    match code {
        ErrorCode::NONE => Ok(()),
        ErrorCode::NOT_COORDINATOR
        | ErrorCode::COORDINATOR_NOT_AVAILABLE
        | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        | ErrorCode::REQUEST_TIMED_OUT
        | ErrorCode::NETWORK_EXCEPTION => Err(Interrupt::CoordinatorLost),
        ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
            Err(Interrupt::MemberLost(code))
        }
        code if is_fatal(code) => Err(Interrupt::Fatal(ConsumeError::Group(code))),
        // Anything else: the application hears of it, and the step is tried again later.
        code => Err(Interrupt::Refused(code)),
    }
}
