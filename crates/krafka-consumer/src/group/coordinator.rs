//! The group task: one per consumer with a `group_id`, the thin async driver of
//! [`GroupMember`]. It owns what the member must not: the coordinator connection, the clock,
//! the application's reply channels and the state shared with the fetcher. Each turn it carries
//! out the member's events, sends the request the member asks for, and waits for whichever
//! comes first: the request's answer, an application command, or the member's next timeout.
//! Every decision is the member's.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use krafka_net::{BrokerConnection, ClusterMetadata, ConnectionConfig, NetError};
use tokio::sync::{mpsc, oneshot};

use super::member::{Answer, Event, GroupMember, Input, MemberConfig, Metric, Outgoing, Request};
use super::requests::{self, JoinArgs};
use super::{Command, GroupEvent};
use crate::config::{ConsumerConfig, OffsetReset};
use crate::error::ConsumeError;
use crate::record::TopicPartition;
use crate::state::{OffsetSpec, PartitionState, Shared};

type Reply<T> = oneshot::Sender<Result<T, ConsumeError>>;
type Lookup = HashMap<TopicPartition, Option<i64>>;

/// A request on its way: its answer, and the connection a found coordinator was dialled on.
type Pending = Pin<Box<dyn Future<Output = (Answer, Option<BrokerConnection>)> + Send>>;

pub(crate) struct GroupTask {
    shared: Arc<Shared>,
    metadata: ClusterMetadata,
    config: Arc<ConsumerConfig>,
    /// The dedicated connection's settings: a request timeout long enough for a JoinGroup.
    conn_config: Arc<ConnectionConfig>,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    member: GroupMember,
    coordinator: Option<BrokerConnection>,
    /// The request in flight, with its id, and whether it is a heartbeat.
    in_flight: Option<(u64, bool, Pending)>,
    commit_replies: HashMap<u64, Reply<()>>,
    lookup_replies: HashMap<u64, Reply<Lookup>>,
    close_replies: HashMap<u64, oneshot::Sender<()>>,
    next_token: u64,
}

impl GroupTask {
    pub(crate) fn new(
        shared: Arc<Shared>,
        metadata: ClusterMetadata,
        config: Arc<ConsumerConfig>,
        group: String,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        let member_config = MemberConfig::from_consumer(&config);
        let mut conn_config = metadata.pool().config().clone();
        conn_config.request_timeout = conn_config
            .request_timeout
            .max(member_config.join_timeout());
        let now = Instant::now();
        let seed = group
            .bytes()
            .fold(now.elapsed().subsec_nanos() as usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
        let member = GroupMember::new(
            member_config,
            &group,
            config.group_instance_id.as_deref(),
            seed,
            now,
        );
        Self {
            shared,
            metadata,
            config,
            conn_config: Arc::new(conn_config),
            commands,
            commands_open: true,
            member,
            coordinator: None,
            in_flight: None,
            commit_replies: HashMap::new(),
            lookup_replies: HashMap::new(),
            close_replies: HashMap::new(),
            next_token: 0,
        }
    }

    pub(crate) async fn run(mut self) {
        tracing::debug!(group = %self.member.identity().group, "group task started");
        loop {
            while let Some(event) = self.member.poll_event() {
                if self.apply(event).await {
                    return;
                }
            }
            if let Some(outgoing) = self.member.poll_request(Instant::now()) {
                self.start(outgoing);
                continue;
            }
            if self.member.has_events() {
                continue;
            }
            // The member abandoned what is in flight (a close, a poll timeout): drop it.
            if self.in_flight.as_ref().map(|f| f.0) != self.member.in_flight() {
                self.in_flight = None;
            }
            let deadline = self
                .member
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let in_flight = async {
                match self.in_flight.as_mut() {
                    Some((id, heartbeat, flight)) => (*id, *heartbeat, flight.await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                (id, heartbeat, (answer, conn)) = in_flight => {
                    self.in_flight = None;
                    if let Some(conn) = conn {
                        self.coordinator = Some(conn);
                    }
                    let now = Instant::now();
                    self.member.handle_answer(now, id, answer);
                    if heartbeat {
                        let snapshot = self.metadata.snapshot();
                        self.member
                            .handle_partition_counts(now, |topic| partition_count(&snapshot, topic));
                    }
                }
                command = self.commands.recv(), if self.commands_open => {
                    let input = match command {
                        Some(command) => self.input(command),
                        None => {
                            // The consumer is gone without closing: leave without a commit.
                            self.commands_open = false;
                            Input::Close { commit: Vec::new(), token: None }
                        }
                    };
                    self.member.handle_input(Instant::now(), input);
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    let polls = self.shared.polls.load(Ordering::Relaxed);
                    self.member.handle_timeout(Instant::now(), polls);
                }
            }
        }
    }

    /// A command as the member takes it; its reply channel waits here under a token.
    fn input(&mut self, command: Command) -> Input {
        self.next_token += 1;
        let token = self.next_token;
        match command {
            Command::Subscribe(topics) => Input::Subscribe(topics),
            Command::Commit { offsets, reply } => Input::Commit {
                offsets,
                token: reply.map(|reply| {
                    self.commit_replies.insert(token, reply);
                    token
                }),
            },
            Command::Committed { partitions, reply } => {
                self.lookup_replies.insert(token, reply);
                Input::Committed { partitions, token }
            }
            Command::Revoked { id, commit } => Input::Revoked { id, commit },
            Command::Close { commit, reply } => {
                self.close_replies.insert(token, reply);
                Input::Close {
                    commit,
                    token: Some(token),
                }
            }
        }
    }

    /// Carries out one event; `true` once the member is closed.
    async fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::WatchTopics(topics) => {
                self.metadata
                    .add_topics(topics.iter().map(|t| t.to_string()));
            }
            Event::Assign(partitions) => self.hand_out(partitions),
            Event::Revoke { id, partitions } => {
                {
                    let mut state = self.shared.state.lock();
                    for tp in &partitions {
                        if let Some(p) = state.partitions.get_mut(tp) {
                            // The fetcher stops fetching it; the application stops handing it out.
                            p.revoking = true;
                        }
                    }
                }
                self.publish(GroupEvent::Revoke { id, partitions });
                self.shared.wake_fetcher.notify_one();
            }
            Event::Lose(owned) => self.lose(owned),
            Event::Error(error) => {
                self.shared.state.lock().errors.push_back(error);
                self.shared.data_ready.notify_one();
            }
            Event::CommitDue => {
                self.shared.commit_due.store(true, Ordering::Release);
                // An application waiting for records commits too (Java's poll does).
                self.shared.data_ready.notify_one();
            }
            Event::WakeApplication => self.shared.data_ready.notify_one(),
            Event::CommitDone { token, result } => {
                if let Some(reply) = self.commit_replies.remove(&token) {
                    let _ = reply.send(result);
                }
            }
            Event::LookupDone { token, result } => {
                if let Some(reply) = self.lookup_replies.remove(&token) {
                    let _ = reply.send(result);
                }
            }
            Event::DropCoordinator => {
                self.in_flight = None;
                if let Some(conn) = self.coordinator.take() {
                    tracing::debug!(group = %self.member.identity().group, "dropping the coordinator connection");
                    tokio::spawn(async move { conn.close().await });
                }
            }
            Event::Metric(metric) => match metric {
                Metric::Heartbeat => self.shared.metrics.heartbeat(),
                Metric::Rebalanced => self.shared.metrics.rebalanced(),
                Metric::Committed(n) => self.shared.metrics.committed(n),
                Metric::CommitFailed => self.shared.metrics.commit_failed(),
            },
            Event::Closed { tokens } => {
                if let Some(conn) = self.coordinator.take() {
                    conn.close().await;
                }
                for token in tokens {
                    if let Some(reply) = self.close_replies.remove(&token) {
                        let _ = reply.send(());
                    }
                }
                tracing::debug!(group = %self.member.identity().group, "group task stopped");
                return true;
            }
        }
        false
    }

    /// Publishes `event` to the application and wakes it.
    fn publish(&self, event: GroupEvent) {
        self.shared.state.lock().group_events.push_back(event);
        self.shared.group_changes.fetch_add(1, Ordering::AcqRel);
        self.shared.data_ready.notify_one();
    }

    /// Hands new partitions to the fetcher at their committed offsets (where nothing is
    /// committed, `auto_offset_reset` decides), and tells the application.
    fn hand_out(&self, partitions: Vec<(TopicPartition, Option<i64>)>) {
        let reset = match self.config.auto_offset_reset {
            OffsetReset::Earliest => Some(OffsetSpec::Earliest),
            OffsetReset::Latest => Some(OffsetSpec::Latest),
            OffsetReset::None => None,
        };
        let mut state = self.shared.state.lock();
        for (tp, offset) in &partitions {
            if state.partitions.contains_key(tp) {
                continue;
            }
            let epoch = state.next_epoch();
            let mut p = PartitionState::new(reset, epoch, seed(tp));
            match offset {
                Some(offset) => {
                    p.reset = None;
                    p.fetch_offset = Some(*offset);
                    p.position = Some(*offset);
                }
                None if reset.is_none() => {
                    state.errors.push_back(ConsumeError::NoPosition(tp.clone()));
                }
                None => {}
            }
            tracing::debug!(group = %self.member.identity().group, partition = %tp, committed = ?offset, "partition handed to the fetcher");
            state.partitions.insert(tp.clone(), p);
        }
        drop(state);
        self.publish(GroupEvent::Assigned(
            partitions.into_iter().map(|(tp, _)| tp).collect(),
        ));
        self.shared.wake_fetcher.notify_one();
    }

    /// Removes lost partitions from the fetcher without a commit, voids a revocation the
    /// application has not run yet, and tells it.
    fn lose(&self, owned: Vec<TopicPartition>) {
        let mut state = self.shared.state.lock();
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

    /// Starts the member's request.
    fn start(&mut self, outgoing: Outgoing) {
        let Outgoing { id, request } = outgoing;
        let heartbeat = matches!(request, Request::Heartbeat { .. });
        let conn = self.coordinator.clone().filter(BrokerConnection::is_usable);
        let flight: Pending = match request {
            Request::FindCoordinator { seed } => {
                let metadata = self.metadata.clone();
                let group = self.member.identity().group.to_string();
                let conn_config = Arc::clone(&self.conn_config);
                Box::pin(async move {
                    match requests::find_coordinator(&metadata, &group, seed).await {
                        Ok(Ok(addr)) => {
                            match BrokerConnection::connect(&addr.addr, conn_config).await {
                                Ok(conn) => (Answer::Coordinator(Ok(Ok(addr.node))), Some(conn)),
                                Err(e) => (Answer::Coordinator(Err(e)), None),
                            }
                        }
                        Ok(Err(code)) => (Answer::Coordinator(Ok(Err(code))), None),
                        Err(e) => (Answer::Coordinator(Err(e)), None),
                    }
                })
            }
            Request::Metadata { topics } => {
                let metadata = self.metadata.clone();
                Box::pin(async move {
                    metadata.add_topics(topics.iter().map(|t| t.to_string()));
                    let snapshot = match metadata.refresh().await {
                        Ok(snapshot) => snapshot,
                        Err(e) => {
                            tracing::debug!(error = %e, "metadata refresh failed; assigning from the cached picture");
                            metadata.snapshot()
                        }
                    };
                    // Every subscribed topic, 0 for one that does not exist (yet): the leader
                    // rejoins when any count changes, a topic appearing included.
                    let counts: BTreeMap<Arc<str>, i32> = topics
                        .iter()
                        .map(|t| (t.clone(), partition_count(&snapshot, t)))
                        .collect();
                    (Answer::Metadata(counts), None)
                })
            }
            request => match conn {
                Some(conn) => coordinator_request(conn, request),
                None => {
                    let failed = NetError::Closed {
                        addr: "the group coordinator".to_owned(),
                    };
                    let answer = failed_answer(&request, failed);
                    Box::pin(async move { (answer, None) })
                }
            },
        };
        self.in_flight = Some((id, heartbeat, flight));
    }
}

/// A request to the coordinator, on its connection.
fn coordinator_request(conn: BrokerConnection, request: Request) -> Pending {
    Box::pin(async move {
        let answer = match request {
            Request::Join {
                identity,
                protocols,
                session_timeout,
                rebalance_timeout,
            } => {
                let args = JoinArgs {
                    session_timeout,
                    rebalance_timeout,
                    protocols,
                    reason: "joining the group",
                };
                Answer::Joined(requests::join(&conn, &identity, args).await)
            }
            Request::Sync {
                identity,
                protocol,
                assignments,
            } => Answer::Synced(requests::sync(&conn, &identity, protocol, assignments).await),
            Request::Heartbeat { identity } => {
                Answer::Heartbeat(requests::heartbeat(&conn, &identity).await)
            }
            Request::Commit { identity, offsets } => {
                Answer::Committed(requests::commit(&conn, &identity, &offsets).await)
            }
            Request::FetchOffsets {
                identity,
                partitions,
                require_stable,
            } => Answer::Offsets(
                requests::fetch_committed(&conn, &identity, &partitions, require_stable).await,
            ),
            Request::Leave { identity, reason } => {
                Answer::Left(requests::leave(&conn, &identity, reason).await)
            }
            request @ (Request::FindCoordinator { .. } | Request::Metadata { .. }) => {
                failed_answer(
                    &request,
                    NetError::Closed {
                        addr: conn.addr().to_owned(),
                    },
                )
            }
        };
        (answer, None)
    })
}

/// The answer of `request` when it could not be sent.
fn failed_answer(request: &Request, error: NetError) -> Answer {
    match request {
        Request::FindCoordinator { .. } => Answer::Coordinator(Err(error)),
        Request::Join { .. } => Answer::Joined(Err(error)),
        Request::Metadata { .. } => Answer::Metadata(BTreeMap::new()),
        Request::Sync { .. } => Answer::Synced(Err(error)),
        Request::Heartbeat { .. } => Answer::Heartbeat(Err(error)),
        Request::Commit { .. } => Answer::Committed(Err(error)),
        Request::FetchOffsets { .. } => Answer::Offsets(Err(error)),
        Request::Leave { .. } => Answer::Left(Err(error)),
    }
}

/// A topic's partition count as metadata knows it; 0 when it does not exist or is in error.
fn partition_count(snapshot: &krafka_net::MetadataSnapshot, topic: &str) -> i32 {
    snapshot
        .topic(topic)
        .filter(|t| t.error == krafka_protocol::ErrorCode::NONE)
        .map_or(0, |t| t.partitions.len() as i32)
}

fn seed(tp: &TopicPartition) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tp.hash(&mut h);
    h.finish()
}
