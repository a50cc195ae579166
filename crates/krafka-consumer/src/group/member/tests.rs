//! The group member in memory: several [`GroupMember`]s against krafka-mock's broker-side
//! group state machine ([`krafka_mock::membership::Group`]), with a fake clock and a scripted
//! application per member. No sockets, no tasks, no sleeps: a scenario of minutes of group
//! time runs in microseconds, and the same inputs give the same run.
//!
//! Every scenario checks the one invariant that matters most (no partition is handed out to
//! two members at once) at every step, plus what the scenario is about.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_mock::membership::{Group, JoinOutcome, JoinRequest, Phase};
use krafka_net::NetError;
use krafka_protocol::{ErrorCode, StrBytes};

use super::messages::{JoinAnswer, JoinedMember};
use super::{Answer, Event, GroupMember, Input, MemberConfig, Outgoing, Request, State};
use crate::config::AssignorKind;
use crate::record::TopicPartition;

const TOPIC: &str = "t";
const PARTITIONS: i32 = 6;

fn config(assignors: &[AssignorKind]) -> MemberConfig {
    MemberConfig {
        session_timeout: Duration::from_secs(10),
        heartbeat_interval: Duration::from_secs(1),
        max_poll_interval: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(100),
        retry_backoff_max: Duration::from_secs(1),
        auto_commit_interval: None,
        assignors: assignors.to_vec(),
        read_committed: false,
    }
}

fn eager() -> MemberConfig {
    config(&[AssignorKind::Range])
}

fn cooperative() -> MemberConfig {
    config(&[AssignorKind::CooperativeSticky])
}

fn disconnected() -> NetError {
    NetError::Disconnected {
        addr: "coordinator".into(),
        reason: Arc::from("cut by the test"),
    }
}

/// The application side of one member: what it holds, where it is, and how it behaves.
#[derive(Debug, Default)]
struct App {
    /// Polls at every step (a live application); `false` stalls it.
    stalled: bool,
    polls: u64,
    /// Partitions handed out, with the next offset the application would consume.
    held: BTreeMap<TopicPartition, i64>,
    /// Answers revocations at once; `false` holds them in `unanswered`.
    slow_to_revoke: bool,
    unanswered: VecDeque<(u64, Vec<TopicPartition>)>,
    /// What the member told it, in order.
    seen: Vec<Seen>,
    /// Commit and lookup replies by token.
    replies: BTreeMap<u64, Result<(), String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
    Lost(Vec<TopicPartition>),
    Error(String),
    Closed,
}

/// A join or sync the coordinator holds until the rebalance gets there.
#[derive(Debug)]
enum Held {
    Join {
        id: u64,
        member_id: String,
    },
    Sync {
        id: u64,
        member_id: String,
        generation: i32,
    },
    Metadata {
        id: u64,
        topics: BTreeSet<Arc<str>>,
    },
}

struct Peer {
    member: GroupMember,
    app: App,
    held: Option<Held>,
    closed: bool,
}

/// The coordinator: krafka-mock's group state machine plus committed offsets, and faults.
struct Coordinator {
    group: Group,
    committed: BTreeMap<TopicPartition, i64>,
    counts: BTreeMap<Arc<str>, i32>,
    /// Unreachable: requests fail, FindCoordinator says COORDINATOR_NOT_AVAILABLE.
    down: bool,
    /// Leader metadata refreshes wait while set.
    hold_metadata: bool,
    /// Scripted answers for the next heartbeats.
    heartbeat_errors: VecDeque<ErrorCode>,
    /// Every request served, by kind, for assertions.
    served: Vec<&'static str>,
}

impl Coordinator {
    fn counts_of(&self, topics: BTreeSet<Arc<str>>) -> BTreeMap<Arc<str>, i32> {
        topics
            .into_iter()
            .map(|t| {
                let n = self.counts.get(&t).copied().unwrap_or(0);
                (t, n)
            })
            .collect()
    }
}

struct Sim {
    now: Instant,
    start: Instant,
    coordinator: Coordinator,
    peers: Vec<Peer>,
    next_token: u64,
}

impl Sim {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            now,
            start: now,
            coordinator: Coordinator {
                group: Group::default(),
                committed: BTreeMap::new(),
                counts: [(Arc::from(TOPIC), PARTITIONS)].into_iter().collect(),
                down: false,
                hold_metadata: false,
                heartbeat_errors: VecDeque::new(),
                served: Vec::new(),
            },
            peers: Vec::new(),
            next_token: 0,
        }
    }

    /// Adds a member subscribed to the topic; returns its index.
    fn join(&mut self, config: MemberConfig, instance: Option<&str>) -> usize {
        let seed = self.peers.len();
        let mut member = GroupMember::new(config, "g", instance, seed, self.now);
        member.handle_input(self.now, Input::Subscribe([Arc::from(TOPIC)].into()));
        self.peers.push(Peer {
            member,
            app: App::default(),
            held: None,
            closed: false,
        });
        self.peers.len() - 1
    }

    fn input(&mut self, peer: usize, input: Input) {
        let now = self.now;
        self.peers[peer].member.handle_input(now, input);
    }

    /// The application of `peer` commits its positions; returns the reply token.
    fn commit(&mut self, peer: usize) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let offsets = self.peers[peer]
            .app
            .held
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        self.input(
            peer,
            Input::Commit {
                offsets,
                token: Some(token),
            },
        );
        token
    }

    fn close(&mut self, peer: usize) {
        let commit = self.peers[peer]
            .app
            .held
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        self.next_token += 1;
        let token = Some(self.next_token);
        self.input(peer, Input::Close { commit, token });
    }

    fn elapsed(&self) -> Duration {
        self.now.duration_since(self.start)
    }

    /// Runs until `done` holds, failing after `limit` of group time.
    fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&Sim) -> bool) {
        let give_up = self.now + limit;
        for _ in 0..100_000 {
            if done(self) {
                return;
            }
            if !self.step() {
                self.advance(give_up);
            }
            assert!(
                self.now <= give_up,
                "{what}: not reached within {limit:?}; states: {:?}",
                self.states()
            );
        }
        panic!("{what}: no progress");
    }

    /// Runs for `span` of group time.
    fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while self.now < until {
            if !self.step() {
                self.advance(until);
            }
        }
    }

    fn states(&self) -> Vec<String> {
        self.peers
            .iter()
            .map(|p| format!("{:?}", p.member.state()))
            .collect()
    }

    /// One round without moving the clock; `false` when nothing happened.
    fn step(&mut self) -> bool {
        let mut progress = false;
        for i in 0..self.peers.len() {
            progress |= self.drain_events(i);
            for sent in 0.. {
                let now = self.now;
                let Some(out) = self.peers[i].member.poll_request(now) else {
                    break;
                };
                // A member that keeps sending without the clock moving is broken.
                assert!(sent < 100, "peer {i} sends without end: {out:?}");
                progress = true;
                self.serve(i, out);
                self.drain_events(i);
            }
        }
        for i in 0..self.peers.len() {
            progress |= self.release_held(i);
        }
        self.check_exclusive();
        progress
    }

    /// Moves the clock to the next timer of any member or of the group (at most `until`).
    fn advance(&mut self, until: Instant) {
        let next = self
            .peers
            .iter()
            .filter(|p| !p.closed)
            .filter_map(|p| p.member.poll_timeout())
            .chain(self.coordinator.group.deadline())
            .min()
            .unwrap_or(until)
            .min(until)
            // Sessions expire on the coordinator without any timer of the members: look at
            // least once a second.
            .min(self.now + Duration::from_secs(1));
        self.now = self.now.max(next);
        let now = self.now;
        self.coordinator.group.expire(now);
        for peer in &mut self.peers {
            if peer.closed {
                continue;
            }
            if !peer.app.stalled {
                peer.app.polls += 1;
            }
            if peer.member.poll_timeout().is_some_and(|t| t <= now) {
                peer.member.handle_timeout(now, peer.app.polls);
            }
        }
    }

    /// Carries out `peer`'s events on its application.
    fn drain_events(&mut self, i: usize) -> bool {
        let mut any = false;
        while let Some(event) = self.peers[i].member.poll_event() {
            any = true;
            let app = &mut self.peers[i].app;
            match event {
                Event::Assign(partitions) => {
                    let list: Vec<TopicPartition> =
                        partitions.iter().map(|(tp, _)| tp.clone()).collect();
                    for (tp, committed) in partitions {
                        app.held.insert(tp, committed.unwrap_or(0));
                    }
                    app.seen.push(Seen::Assigned(list));
                }
                Event::Revoke { id, partitions } => {
                    app.seen.push(Seen::Revoked(partitions.clone()));
                    app.unanswered.push_back((id, partitions));
                }
                Event::Lose(partitions) => {
                    app.unanswered.clear();
                    for tp in &partitions {
                        app.held.remove(tp);
                    }
                    app.seen.push(Seen::Lost(partitions));
                }
                Event::Error(e) => app.seen.push(Seen::Error(e.to_string())),
                Event::CommitDone { token, result } => {
                    app.replies.insert(token, result.map_err(|e| e.to_string()));
                }
                Event::LookupDone { token, result } => {
                    app.replies
                        .insert(token, result.map(|_| ()).map_err(|e| e.to_string()));
                }
                Event::Closed { .. } => {
                    app.seen.push(Seen::Closed);
                    app.held.clear();
                    self.peers[i].closed = true;
                }
                Event::WatchTopics(_)
                | Event::CommitDue
                | Event::WakeApplication
                | Event::DropCoordinator
                | Event::Metric(_) => {}
            }
        }
        // The application consumes a little, and answers revocations at its next poll.
        let now = self.now;
        let peer = &mut self.peers[i];
        if !peer.app.stalled {
            for offset in peer.app.held.values_mut() {
                *offset += 1;
            }
            if !peer.app.slow_to_revoke {
                while let Some((id, partitions)) = peer.app.unanswered.pop_front() {
                    let commit = partitions
                        .iter()
                        .filter_map(|tp| Some((tp.clone(), peer.app.held.remove(tp)?)))
                        .collect();
                    peer.member.handle_input(now, Input::Revoked { id, commit });
                    any = true;
                }
            }
        }
        any
    }

    /// The coordinator serves one request.
    fn serve(&mut self, i: usize, out: Outgoing) {
        let now = self.now;
        let c = &mut self.coordinator;
        c.group.expire(now);
        let Outgoing { id, request } = out;
        let answer = if c.down {
            c.served.push("refused");
            match request {
                Request::FindCoordinator { .. } => {
                    Answer::Coordinator(Ok(Err(ErrorCode::COORDINATOR_NOT_AVAILABLE)))
                }
                Request::Metadata { .. } => Answer::Metadata(BTreeMap::new()),
                Request::Join { .. } => Answer::Joined(Err(disconnected())),
                Request::Sync { .. } => Answer::Synced(Err(disconnected())),
                Request::Heartbeat { .. } => Answer::Heartbeat(Err(disconnected())),
                Request::Commit { .. } => Answer::Committed(Err(disconnected())),
                Request::FetchOffsets { .. } => Answer::Offsets(Err(disconnected())),
                Request::Leave { .. } => Answer::Left(Err(disconnected())),
            }
        } else {
            match request {
                Request::FindCoordinator { .. } => {
                    c.served.push("find");
                    Answer::Coordinator(Ok(Ok(1)))
                }
                Request::Metadata { topics } => {
                    c.served.push("metadata");
                    if c.hold_metadata {
                        self.peers[i].held = Some(Held::Metadata { id, topics });
                        return;
                    }
                    Answer::Metadata(c.counts_of(topics))
                }
                Request::Join {
                    identity,
                    protocols,
                    session_timeout,
                    rebalance_timeout,
                } => {
                    c.served.push("join");
                    let request = JoinRequest {
                        member_id: identity.member_id.to_string(),
                        instance_id: identity.instance_id.as_ref().map(ToString::to_string),
                        client_id: format!("peer{i}"),
                        client_host: "/127.0.0.1".into(),
                        protocol_type: "consumer".into(),
                        protocols: protocols
                            .into_iter()
                            .map(|(n, b)| (n.to_owned(), b))
                            .collect(),
                        session_timeout,
                        rebalance_timeout,
                        requires_member_id: true,
                    };
                    match c.group.join(request, now) {
                        Ok(JoinOutcome::MemberIdRequired(member_id)) => Answer::Joined(Ok(
                            join_error(ErrorCode::MEMBER_ID_REQUIRED, &member_id),
                        )),
                        Ok(JoinOutcome::Joined(member_id)) => {
                            self.peers[i].held = Some(Held::Join { id, member_id });
                            return;
                        }
                        Err(code) => Answer::Joined(Ok(join_error(code, ""))),
                    }
                }
                Request::Sync {
                    identity,
                    assignments,
                    ..
                } => {
                    c.served.push("sync");
                    let member_id = identity.member_id.to_string();
                    match c
                        .group
                        .sync(&member_id, identity.generation, assignments, now)
                    {
                        Ok(Some(bytes)) => Answer::Synced(Ok((ErrorCode::NONE, bytes))),
                        Ok(None) => {
                            self.peers[i].held = Some(Held::Sync {
                                id,
                                member_id,
                                generation: identity.generation,
                            });
                            return;
                        }
                        Err(code) => Answer::Synced(Ok((code, Bytes::new()))),
                    }
                }
                Request::Heartbeat { identity } => {
                    c.served.push("heartbeat");
                    let code = match c.heartbeat_errors.pop_front() {
                        Some(code) => code,
                        None => c
                            .group
                            .heartbeat(&identity.member_id, identity.generation, now)
                            .err()
                            .unwrap_or(ErrorCode::NONE),
                    };
                    Answer::Heartbeat(Ok(code))
                }
                Request::Commit { identity, offsets } => {
                    c.served.push("commit");
                    let verdict = if identity.generation >= 0 {
                        c.group.may_commit(&identity.member_id, identity.generation)
                    } else {
                        Ok(())
                    };
                    let code = verdict.err().unwrap_or(ErrorCode::NONE);
                    if code == ErrorCode::NONE {
                        for (tp, o) in &offsets {
                            c.committed.insert(tp.clone(), *o);
                        }
                    }
                    Answer::Committed(Ok(offsets.into_iter().map(|(tp, _)| (tp, code)).collect()))
                }
                Request::FetchOffsets { partitions, .. } => {
                    c.served.push("offsets");
                    Answer::Offsets(Ok(Ok(partitions
                        .into_iter()
                        .map(|tp| {
                            let o = c.committed.get(&tp).copied();
                            (tp, o)
                        })
                        .collect())))
                }
                Request::Leave { identity, .. } => {
                    c.served.push("leave");
                    let code = c
                        .group
                        .leave(&identity.member_id, identity.instance_id.as_deref(), now)
                        .err()
                        .unwrap_or(ErrorCode::NONE);
                    Answer::Left(Ok(code))
                }
            }
        };
        self.peers[i].member.handle_answer(now, id, answer);
    }

    /// Answers `peer`'s held join or sync once the group has an answer for it.
    fn release_held(&mut self, i: usize) -> bool {
        let now = self.now;
        let c = &mut self.coordinator;
        let answer = match &self.peers[i].held {
            None => return false,
            Some(Held::Join { id, member_id }) => {
                c.group.try_complete(now);
                let Some(result) = c.group.take_join_answer(member_id) else {
                    return false;
                };
                let answer = JoinAnswer {
                    error: ErrorCode::NONE,
                    member_id: StrBytes::from_string(member_id.clone()),
                    generation: result.generation,
                    protocol_name: Some(StrBytes::from_string(result.protocol)),
                    leader: StrBytes::from_string(result.leader),
                    members: result
                        .members
                        .into_iter()
                        .map(|(id, instance, metadata)| JoinedMember {
                            member_id: StrBytes::from_string(id),
                            instance_id: instance.map(StrBytes::from_string),
                            metadata,
                        })
                        .collect(),
                };
                (*id, Answer::Joined(Ok(answer)))
            }
            Some(Held::Metadata { id, topics }) => {
                if c.hold_metadata {
                    return false;
                }
                (*id, Answer::Metadata(c.counts_of(topics.clone())))
            }
            Some(Held::Sync {
                id,
                member_id,
                generation,
            }) => match c.group.sync(member_id, *generation, Vec::new(), now) {
                Ok(None) => return false,
                Ok(Some(bytes)) => (*id, Answer::Synced(Ok((ErrorCode::NONE, bytes)))),
                Err(code) => (*id, Answer::Synced(Ok((code, Bytes::new())))),
            },
        };
        self.peers[i].held = None;
        self.peers[i].member.handle_answer(now, answer.0, answer.1);
        self.drain_events(i);
        true
    }

    /// Fails every held join and sync, as a coordinator connection that drops does.
    fn cut_held(&mut self) {
        let now = self.now;
        for peer in &mut self.peers {
            let answer = match peer.held.take() {
                Some(Held::Join { id, .. }) => (id, Answer::Joined(Err(disconnected()))),
                Some(Held::Sync { id, .. }) => (id, Answer::Synced(Err(disconnected()))),
                held @ (Some(Held::Metadata { .. }) | None) => {
                    peer.held = held;
                    continue;
                }
            };
            peer.member.handle_answer(now, answer.0, answer.1);
        }
    }

    /// No partition is held by two applications.
    fn check_exclusive(&self) {
        let mut seen = BTreeSet::new();
        for (i, peer) in self.peers.iter().enumerate() {
            for tp in peer.app.held.keys() {
                assert!(
                    seen.insert(tp.clone()),
                    "{tp} is held by two members (one is {i}) at {:?}",
                    self.elapsed()
                );
            }
        }
    }

    /// Every partition is held by exactly one live application and each member is Stable.
    fn settled(&self) -> bool {
        let live: Vec<&Peer> = self.peers.iter().filter(|p| !p.closed).collect();
        let held: usize = live.iter().map(|p| p.app.held.len()).sum();
        held == PARTITIONS as usize
            && live
                .iter()
                .all(|p| matches!(p.member.state(), State::Stable) && p.held.is_none())
            && self.coordinator.group.phase == Phase::Stable
    }

    fn held(&self, peer: usize) -> BTreeSet<TopicPartition> {
        self.peers[peer].app.held.keys().cloned().collect()
    }

    fn served(&self, kind: &str) -> usize {
        self.coordinator
            .served
            .iter()
            .filter(|k| **k == kind)
            .count()
    }
}

fn join_error(code: ErrorCode, member_id: &str) -> JoinAnswer {
    JoinAnswer {
        error: code,
        member_id: StrBytes::from_string(member_id.to_owned()),
        generation: -1,
        protocol_name: None,
        leader: StrBytes::new(),
        members: Vec::new(),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn members_joining_and_leaving_one_by_one_always_cover_every_partition_once() {
    for config in [eager(), cooperative()] {
        let mut sim = Sim::new();
        let a = sim.join(config.clone(), None);
        sim.run_until(MINUTE, "a alone", Sim::settled);
        assert_eq!(sim.held(a).len(), PARTITIONS as usize);
        let b = sim.join(config.clone(), None);
        sim.run_until(MINUTE, "a and b", |s| s.settled() && !s.held(b).is_empty());
        let c = sim.join(config.clone(), None);
        sim.run_until(MINUTE, "three", |s| s.settled() && !s.held(c).is_empty());
        for peer in [a, b, c] {
            assert_eq!(sim.held(peer).len(), 2, "{:?}", config.assignors);
        }
        sim.close(b);
        sim.run_until(MINUTE, "b left", |s| s.settled() && s.peers[b].closed);
        assert_eq!(sim.held(a).len() + sim.held(c).len(), PARTITIONS as usize);
        // A dynamic member says goodbye: the group did not wait out its session.
        assert!(sim.served("leave") >= 1);
        assert!(
            sim.elapsed() < Duration::from_secs(10),
            "{:?}",
            sim.elapsed()
        );
    }
}

#[test]
fn a_rejoin_storm_settles_in_one_generation_with_every_partition_once() {
    let mut sim = Sim::new();
    let peers: Vec<usize> = (0..5).map(|_| sim.join(eager(), None)).collect();
    sim.run_until(MINUTE, "storm", Sim::settled);
    let generation = sim.coordinator.group.generation;
    for &p in &peers {
        assert!(!sim.held(p).is_empty() || PARTITIONS < 5);
        assert_eq!(sim.peers[p].member.identity().generation, generation);
    }
    // Quiet afterwards: heartbeats only, no further rebalance.
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.coordinator.group.generation, generation);
    assert!(sim.settled());
}

#[test]
fn the_coordinator_lost_mid_join_is_found_again_and_the_join_completes() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    let b = sim.join(eager(), None);
    // Run until b's join is held by the coordinator, then cut it.
    sim.run_until(MINUTE, "b joining", |s| {
        matches!(s.peers[b].held, Some(Held::Join { .. }))
    });
    sim.coordinator.down = true;
    sim.cut_held();
    sim.run_for(Duration::from_secs(2));
    assert!(
        sim.served("refused") > 0,
        "the members kept asking while it was down"
    );
    sim.coordinator.down = false;
    sim.run_until(MINUTE, "recovered", |s| {
        s.settled() && !s.held(b).is_empty()
    });
    assert_eq!(sim.held(a).len() + sim.held(b).len(), PARTITIONS as usize);
}

#[test]
fn the_coordinator_lost_mid_sync_restarts_from_the_join() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    // The leader (a) is slow to assign, so b's SyncGroup waits on the coordinator.
    sim.coordinator.hold_metadata = true;
    let b = sim.join(eager(), None);
    sim.run_until(MINUTE, "b syncing", |s| {
        matches!(s.peers[b].held, Some(Held::Sync { .. }))
    });
    sim.coordinator.down = true;
    sim.cut_held();
    sim.coordinator.hold_metadata = false;
    sim.run_for(Duration::from_secs(1));
    assert!(matches!(sim.peers[b].member.state(), State::Joining));
    sim.coordinator.down = false;
    sim.run_until(MINUTE, "recovered", Sim::settled);
    assert!(!sim.held(a).is_empty() && !sim.held(b).is_empty());
}

#[test]
fn a_heartbeat_answered_rebalance_in_progress_during_a_commit_keeps_the_commit() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    sim.run_for(Duration::from_secs(2));
    let positions = sim.peers[a].app.held.clone();
    let token = sim.commit(a);
    sim.coordinator
        .heartbeat_errors
        .push_back(ErrorCode::REBALANCE_IN_PROGRESS);
    sim.run_until(MINUTE, "rebalanced after the commit", |s| {
        s.peers[a].app.replies.contains_key(&token) && s.settled() && s.served("heartbeat") > 0
    });
    assert_eq!(sim.peers[a].app.replies[&token], Ok(()));
    // The commit made before the rebalance holds at least the positions given.
    for (tp, offset) in positions {
        assert!(sim.coordinator.committed[&tp] >= offset, "{tp}");
    }
    // And the eager rebalance revoked everything (with a commit) before rejoining.
    assert!(
        sim.peers[a]
            .app
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Revoked(p) if p.len() == PARTITIONS as usize))
    );
}

#[test]
fn cooperative_rebalances_revoke_only_what_moves_then_hand_it_over_in_a_follow_up() {
    let mut sim = Sim::new();
    let a = sim.join(cooperative(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    let generation = sim.coordinator.group.generation;
    let b = sim.join(cooperative(), None);
    sim.run_until(MINUTE, "b", |s| s.settled() && s.held(b).len() == 3);
    assert_eq!(sim.held(a).len(), 3);
    // Two rebalances: the first takes three partitions from a, the follow-up gives them to b.
    assert_eq!(sim.coordinator.group.generation, generation + 2);
    let revoked: Vec<&Vec<TopicPartition>> = sim.peers[a]
        .app
        .seen
        .iter()
        .filter_map(|s| match s {
            Seen::Revoked(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(revoked.len(), 1, "{:?}", sim.peers[a].app.seen);
    assert_eq!(revoked[0].len(), 3);
    // What a kept never stopped: nothing was lost.
    assert!(
        !sim.peers[a]
            .app
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Lost(_)))
    );
}

#[test]
fn a_static_member_restarting_within_its_session_gets_its_partitions_back_without_a_rebalance() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), Some("host-a"));
    let b = sim.join(eager(), Some("host-b"));
    sim.run_until(MINUTE, "both", |s| s.settled() && !s.held(b).is_empty());
    let before = sim.held(a);
    let generation = sim.coordinator.group.generation;
    sim.close(a);
    sim.run_until(MINUTE, "a closed", |s| s.peers[a].closed);
    assert_eq!(sim.served("leave"), 0, "a static member does not leave");
    sim.run_for(Duration::from_secs(3));
    let a2 = sim.join(eager(), Some("host-a"));
    sim.run_until(MINUTE, "a back", |s| s.settled() && !s.held(a2).is_empty());
    assert_eq!(sim.held(a2), before);
    assert_eq!(sim.coordinator.group.generation, generation, "no rebalance");
    assert!(
        !sim.peers[b]
            .app
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Revoked(_) | Seen::Lost(_)))
    );
}

#[test]
fn a_static_member_restarting_after_its_session_rebalances_the_group() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), Some("host-a"));
    let b = sim.join(eager(), Some("host-b"));
    sim.run_until(MINUTE, "both", |s| s.settled() && !s.held(b).is_empty());
    let generation = sim.coordinator.group.generation;
    sim.close(a);
    sim.run_until(MINUTE, "a closed", |s| s.peers[a].closed);
    // Past the session timeout the coordinator drops a, and b takes everything.
    sim.run_until(MINUTE, "b alone", |s| {
        s.held(b).len() == PARTITIONS as usize && s.settled()
    });
    assert!(sim.coordinator.group.generation > generation);
    let a2 = sim.join(eager(), Some("host-a"));
    sim.run_until(MINUTE, "a back", |s| s.settled() && !s.held(a2).is_empty());
    assert_eq!(sim.held(a2).len() + sim.held(b).len(), PARTITIONS as usize);
}

#[test]
fn past_max_poll_interval_the_member_leaves_loses_its_partitions_and_rejoins_when_polled() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    let b = sim.join(eager(), None);
    sim.run_until(MINUTE, "both", |s| s.settled() && !s.held(b).is_empty());
    sim.peers[a].app.stalled = true;
    sim.run_until(MINUTE, "a expired", |s| {
        matches!(s.peers[a].member.state(), State::PollExpired { .. })
            && s.peers[a]
                .app
                .seen
                .iter()
                .any(|e| matches!(e, Seen::Lost(_)))
    });
    let stalled_for = sim.elapsed();
    assert!(sim.served("leave") >= 1, "it left instead of timing out");
    sim.run_until(MINUTE, "b took over", |s| {
        s.held(b).len() == PARTITIONS as usize
    });
    // Still stalled: it stays out.
    sim.run_for(Duration::from_secs(5));
    assert!(matches!(
        sim.peers[a].member.state(),
        State::PollExpired { .. }
    ));
    sim.peers[a].app.stalled = false;
    sim.run_until(MINUTE, "a rejoined", |s| {
        s.settled() && !s.held(a).is_empty()
    });
    assert!(stalled_for >= Duration::from_secs(30));
}

#[test]
fn a_close_during_a_rebalance_finishes_it_commits_and_leaves() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    let b = sim.join(eager(), None);
    sim.run_until(MINUTE, "b's join held", |s| {
        matches!(s.peers[b].held, Some(Held::Join { .. }))
    });
    sim.close(b);
    sim.run_until(MINUTE, "b closed", |s| s.peers[b].closed);
    // b's join was allowed to finish, then it left: a ends up with everything.
    assert!(sim.served("leave") >= 1);
    sim.run_until(MINUTE, "a alone", |s| {
        s.settled() && s.held(a).len() == PARTITIONS as usize
    });
    assert!(sim.peers[b].app.seen.contains(&Seen::Closed));
    assert!(sim.coordinator.group.members.len() == 1);
}

#[test]
fn unsubscribing_revokes_with_a_commit_then_leaves() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    sim.run_for(Duration::from_secs(1));
    let positions = sim.peers[a].app.held.clone();
    sim.input(a, Input::Subscribe(BTreeSet::new()));
    sim.run_until(MINUTE, "unjoined", |s| {
        matches!(s.peers[a].member.state(), State::Unjoined) && s.served("leave") == 1
    });
    assert!(sim.held(a).is_empty());
    for (tp, offset) in positions {
        assert!(
            sim.coordinator.committed[&tp] >= offset,
            "{tp} committed on revoke"
        );
    }
    assert!(sim.coordinator.group.members.is_empty());
}

#[test]
fn an_answer_to_an_abandoned_request_changes_nothing() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    let owned = sim.peers[a].member.owned().clone();
    let now = sim.now;
    sim.peers[a].member.handle_answer(
        now,
        u64::MAX,
        Answer::Heartbeat(Ok(ErrorCode::UNKNOWN_MEMBER_ID)),
    );
    assert!(matches!(sim.peers[a].member.state(), State::Stable));
    assert_eq!(sim.peers[a].member.owned(), &owned);
}

#[test]
fn a_fatal_group_error_ends_membership_and_tells_the_application() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    sim.coordinator
        .heartbeat_errors
        .push_back(ErrorCode::GROUP_AUTHORIZATION_FAILED);
    sim.run_until(MINUTE, "fatal", |s| {
        matches!(s.peers[a].member.state(), State::Fatal)
    });
    assert!(sim.held(a).is_empty(), "its partitions were dropped");
    assert!(
        sim.peers[a]
            .app
            .seen
            .iter()
            .any(|s| matches!(s, Seen::Error(e) if e.contains("GROUP_AUTHORIZATION_FAILED")))
    );
    // It stays out: no more joins.
    let joins = sim.served("join");
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.served("join"), joins);
}

#[test]
fn fenced_out_of_its_generation_the_member_loses_its_partitions_and_rejoins() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    let generation = sim.coordinator.group.generation;
    sim.coordinator
        .heartbeat_errors
        .push_back(ErrorCode::ILLEGAL_GENERATION);
    sim.run_until(MINUTE, "lost", |s| {
        s.peers[a]
            .app
            .seen
            .iter()
            .any(|e| matches!(e, Seen::Lost(_)))
    });
    sim.run_until(MINUTE, "rejoined", Sim::settled);
    assert!(sim.coordinator.group.generation > generation);
    // Lost, not revoked: no commit could be made for them.
    assert!(
        !sim.peers[a]
            .app
            .seen
            .iter()
            .any(|e| matches!(e, Seen::Revoked(_)))
    );
}

#[test]
fn a_slow_revocation_keeps_the_member_heartbeating_until_it_answers() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    sim.peers[a].app.slow_to_revoke = true;
    let b = sim.join(eager(), None);
    sim.run_until(MINUTE, "a revoking", |s| {
        matches!(s.peers[a].member.state(), State::Revoking(_))
    });
    let heartbeats = sim.served("heartbeat");
    sim.run_for(Duration::from_secs(5));
    assert!(sim.served("heartbeat") > heartbeats, "heartbeats go on");
    assert!(matches!(sim.peers[a].member.state(), State::Revoking(_)));
    sim.peers[a].app.slow_to_revoke = false;
    sim.run_until(MINUTE, "settled", |s| s.settled() && !s.held(b).is_empty());
}

#[test]
fn a_close_with_the_coordinator_unreachable_still_ends() {
    let mut sim = Sim::new();
    let a = sim.join(eager(), None);
    sim.run_until(MINUTE, "a", Sim::settled);
    sim.coordinator.down = true;
    sim.close(a);
    // The close's commit is tried a few times, then given up: the close does not hang.
    sim.run_until(Duration::from_secs(30), "closed", |s| s.peers[a].closed);
    assert!(
        sim.served("refused") >= 2,
        "it tried the commit and the search"
    );
}
