//! The classic consumer-group protocol, the coordinator side, as Kafka's `GroupCoordinator`
//! runs it: a state machine per group, free of I/O, that the JoinGroup / SyncGroup / Heartbeat /
//! LeaveGroup handlers drive and wait on.
//!
//! - **Join.** A new member of a v4+ client is first given an id and MEMBER_ID_REQUIRED
//!   (KIP-394); it rejoins with it. Any join starts a rebalance (PreparingRebalance); the
//!   rebalance completes when every member has rejoined, or when its deadline (the largest
//!   rebalance timeout) passes, which removes the members that did not. Completion bumps the
//!   generation, picks the first protocol of the leader's list that every member supports, and
//!   moves to CompletingRebalance.
//! - **Sync.** The leader's SyncGroup carries the assignments and makes the group Stable; every
//!   member's SyncGroup answers with its own assignment once the group is Stable.
//! - **Heartbeat.** Keeps a member alive; answers REBALANCE_IN_PROGRESS while one is under way.
//! - **Leave.** Removes members and starts a rebalance for the rest.
//! - **Session timeouts** are enforced lazily: any request to the group first expires members
//!   not heard from within their session timeout.
//! - **Static members** (`group.instance.id`, KIP-345) keep their place: a rejoin under a known
//!   instance id takes over the old member's slot, fencing the old id (FENCED_INSTANCE_ID). If
//!   the group is Stable and its protocol would not change, there is no rebalance: the member
//!   gets its assignment back under the new id.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use krafka_protocol::ErrorCode;

/// Where a group is in its rebalance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No members.
    Empty,
    /// Waiting for every member to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignments.
    CompletingRebalance,
    /// Assignments handed out.
    Stable,
}

impl Phase {
    /// Kafka's name for the phase, as ListGroups and DescribeGroups report it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Empty => "Empty",
            Phase::PreparingRebalance => "PreparingRebalance",
            Phase::CompletingRebalance => "CompletingRebalance",
            Phase::Stable => "Stable",
        }
    }
}

/// One member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its static instance id, if any.
    pub instance_id: Option<String>,
    /// Its protocols, in preference order, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Its session timeout.
    pub session_timeout: Duration,
    /// Its rebalance timeout.
    pub rebalance_timeout: Duration,
    /// When it was last heard from.
    pub last_seen: Instant,
    /// Its assignment in the current generation.
    pub assignment: Bytes,
    /// The client id of its latest join.
    pub client_id: String,
    /// The address its latest join came from.
    pub client_host: String,
}

/// One group.
#[derive(Debug)]
pub struct Group {
    /// The phase.
    pub phase: Phase,
    /// The generation, bumped by every completed rebalance.
    pub generation: i32,
    /// The protocol type its members share (e.g. `consumer`).
    pub protocol_type: Option<String>,
    /// The chosen protocol of the generation (e.g. `range`).
    pub protocol: Option<String>,
    /// The leader of the generation.
    pub leader: Option<String>,
    /// The members.
    pub members: BTreeMap<String, Member>,
    pending: BTreeSet<String>,
    joined: BTreeSet<String>,
    deadline: Option<Instant>,
    fenced: BTreeSet<String>,
    next_member: u64,
    /// The answer of each join a completed rebalance took in, until its handler collects it.
    /// Kafka answers every waiting join at completion; kept here, a join still answers with
    /// its generation after another member's join has already started the next rebalance.
    answers: BTreeMap<String, JoinResult>,
}

/// What a joining member is told once its rebalance completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// The new generation.
    pub generation: i32,
    /// The chosen protocol.
    pub protocol: String,
    /// The protocol type.
    pub protocol_type: String,
    /// The leader.
    pub leader: String,
    /// The members with their metadata for the chosen protocol (for the leader only).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    /// The phase.
    pub phase: Phase,
    /// The protocol type.
    pub protocol_type: Option<String>,
    /// The chosen protocol, once Stable.
    pub protocol: Option<String>,
    /// The members, by id.
    pub members: Vec<MemberSummary>,
}

/// A member as DescribeGroups reports it.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    /// Its id.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// The client id of its latest join.
    pub client_id: String,
    /// The address of its latest join.
    pub client_host: String,
    /// Its metadata for the chosen protocol (empty unless Stable).
    pub metadata: Bytes,
    /// Its assignment (empty unless Stable).
    pub assignment: Bytes,
}

/// A join as the request states it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The member id, empty for a new member.
    pub member_id: String,
    /// The static instance id.
    pub instance_id: Option<String>,
    /// The client id, used to make member ids readable.
    pub client_id: String,
    /// The address the join came from (`/127.0.0.1`, as Kafka reports it).
    pub client_host: String,
    /// The protocol type.
    pub protocol_type: String,
    /// The protocols, in preference order.
    pub protocols: Vec<(String, Bytes)>,
    /// The session timeout.
    pub session_timeout: Duration,
    /// The rebalance timeout.
    pub rebalance_timeout: Duration,
    /// Whether the client speaks KIP-394 (JoinGroup v4+): a new member must rejoin with an id.
    pub requires_member_id: bool,
}

/// How a join went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// MEMBER_ID_REQUIRED: rejoin with this id.
    MemberIdRequired(String),
    /// Joined the rebalance under this id; wait for it to complete.
    Joined(String),
}

impl Default for Group {
    /// An empty group, as a coordinator creates it on the first request naming it.
    fn default() -> Self {
        Self::new()
    }
}

impl Group {
    fn new() -> Self {
        Self {
            phase: Phase::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeSet::new(),
            joined: BTreeSet::new(),
            deadline: None,
            fenced: BTreeSet::new(),
            next_member: 1,
            answers: BTreeMap::new(),
        }
    }

    /// What waiting requests care about: phase, generation, members and who has joined.
    fn fingerprint(&self) -> (Phase, i32, usize, usize, Option<String>) {
        (
            self.phase,
            self.generation,
            self.members.len(),
            self.joined.len(),
            self.leader.clone(),
        )
    }

    /// Removes members whose session expired, rebalancing if any did.
    pub fn expire(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(id, m)| {
                now.duration_since(m.last_seen) > m.session_timeout && !self.joined.contains(*id)
            })
            .map(|(id, _)| id.clone())
            .collect();
        if !expired.is_empty() {
            for id in &expired {
                self.members.remove(id);
            }
            self.start_rebalance(now);
        }
    }

    fn start_rebalance(&mut self, now: Instant) {
        // A departed member's answer has nobody left to collect it.
        let members = &self.members;
        self.answers.retain(|id, _| members.contains_key(id));
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.joined.clear();
            self.deadline = None;
            self.leader = None;
            return;
        }
        if self.phase != Phase::PreparingRebalance {
            self.phase = Phase::PreparingRebalance;
            self.joined.clear();
            let timeout = self.members.values().map(|m| m.rebalance_timeout).max();
            self.deadline = timeout.map(|t| now + t);
        }
    }

    /// A JoinGroup.
    pub fn join(&mut self, request: JoinRequest, now: Instant) -> Result<JoinOutcome, ErrorCode> {
        if self.fenced.contains(&request.member_id) {
            return Err(ErrorCode::FENCED_INSTANCE_ID);
        }
        let other_type = self
            .protocol_type
            .as_ref()
            .is_some_and(|kind| *kind != request.protocol_type);
        if other_type && !self.members.is_empty() {
            return Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
        }
        let shared = |p: &str| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == p))
        };
        if !self.members.is_empty()
            && !self.members.contains_key(&request.member_id)
            && !request.protocols.iter().any(|(name, _)| shared(name))
        {
            return Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
        }
        let static_owner = request.instance_id.as_ref().and_then(|instance| {
            self.members
                .iter()
                .find(|(_, m)| m.instance_id.as_ref() == Some(instance))
                .map(|(id, _)| id.clone())
        });
        let member_id = if request.member_id.is_empty() {
            let id = format!("{}-{}", request.client_id, self.next_member);
            self.next_member += 1;
            if let Some(old) = static_owner {
                let stable = self.phase == Phase::Stable;
                // A static member rejoining under a new id takes over its slot.
                if let Some(member) = self.members.remove(&old) {
                    self.members.insert(id.clone(), member);
                }
                self.fenced.insert(old.clone());
                if self.leader.as_ref() == Some(&old) {
                    self.leader = Some(id.clone());
                }
                if self.joined.remove(&old) {
                    self.joined.insert(id.clone());
                }
                if stable && let Some(m) = self.members.get_mut(&id) {
                    let previous = std::mem::replace(&mut m.protocols, request.protocols.clone());
                    // KIP-345, as Kafka's coordinator decides it: a static member restarting
                    // while the group is Stable gets its assignment back under the new id,
                    // without a rebalance, unless the group's protocol would change.
                    if self.next_protocol() == self.protocol {
                        if let Some(m) = self.members.get_mut(&id) {
                            m.last_seen = now;
                            m.session_timeout = request.session_timeout;
                            m.rebalance_timeout = request.rebalance_timeout;
                            m.client_id = request.client_id;
                            m.client_host = request.client_host;
                        }
                        return Ok(JoinOutcome::Joined(id));
                    }
                    if let Some(m) = self.members.get_mut(&id) {
                        m.protocols = previous;
                    }
                }
            } else if request.requires_member_id {
                self.pending.insert(id.clone());
                return Ok(JoinOutcome::MemberIdRequired(id));
            }
            id
        } else if self.members.contains_key(&request.member_id)
            || self.pending.remove(&request.member_id)
        {
            request.member_id
        } else {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        };
        self.answers.remove(&member_id);
        let assignment = self
            .members
            .get(&member_id)
            .map(|m| m.assignment.clone())
            .unwrap_or_default();
        self.members.insert(
            member_id.clone(),
            Member {
                instance_id: request.instance_id,
                protocols: request.protocols,
                session_timeout: request.session_timeout,
                rebalance_timeout: request.rebalance_timeout,
                last_seen: now,
                assignment,
                client_id: request.client_id,
                client_host: request.client_host,
            },
        );
        self.protocol_type = Some(request.protocol_type);
        self.start_rebalance(now);
        self.joined.insert(member_id.clone());
        self.try_complete(now);
        Ok(JoinOutcome::Joined(member_id))
    }

    /// Completes the rebalance when every member has joined, or when its deadline has passed
    /// (removing those that did not join). Returns whether it completed.
    pub fn try_complete(&mut self, now: Instant) -> bool {
        if self.phase != Phase::PreparingRebalance {
            return false;
        }
        let all_joined = self.members.keys().all(|id| self.joined.contains(id));
        let expired = self.deadline.is_some_and(|d| now >= d);
        if !all_joined && !expired {
            return false;
        }
        if !all_joined {
            let joined = self.joined.clone();
            self.members.retain(|id, _| joined.contains(id));
        }
        if self.members.is_empty() {
            self.start_rebalance(now);
            return true;
        }
        self.generation += 1;
        let leader = match &self.leader {
            Some(l) if self.members.contains_key(l) => l.clone(),
            _ => self.members.keys().next().cloned().unwrap_or_default(),
        };
        self.leader = Some(leader);
        self.protocol = self.next_protocol();
        self.phase = Phase::CompletingRebalance;
        self.joined.clear();
        self.deadline = None;
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
            member.last_seen = now;
        }
        self.answers = self
            .members
            .keys()
            .filter_map(|id| Some((id.clone(), self.join_result(id)?)))
            .collect();
        true
    }

    /// The answer for `member_id`'s waiting join: the one its rebalance completed with, or,
    /// for a join that needed no rebalance (a static member's return), the current generation.
    pub fn take_join_answer(&mut self, member_id: &str) -> Option<JoinResult> {
        self.answers
            .remove(member_id)
            .or_else(|| self.join_result(member_id))
    }

    /// The protocol a rebalance would choose now: the first of the leader's protocols that
    /// every member supports.
    fn next_protocol(&self) -> Option<String> {
        let leader = self.leader.as_ref()?;
        let candidates = &self.members.get(leader)?.protocols;
        candidates
            .iter()
            .map(|(n, _)| n)
            .find(|p| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *p))
            })
            .cloned()
    }

    /// The rebalance deadline, for a waiting joiner.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// What `member_id` is told about the generation it joined.
    pub fn join_result(&self, member_id: &str) -> Option<JoinResult> {
        if !matches!(self.phase, Phase::CompletingRebalance | Phase::Stable) {
            return None;
        }
        self.members.get(member_id)?;
        let protocol = self.protocol.clone()?;
        let leader = self.leader.clone()?;
        let members = if leader == member_id {
            self.members
                .iter()
                .map(|(id, m)| {
                    let metadata = m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, md)| md.clone())
                        .unwrap_or_default();
                    (id.clone(), m.instance_id.clone(), metadata)
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(JoinResult {
            generation: self.generation,
            protocol,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            leader,
            members,
        })
    }

    fn check_member(&self, member_id: &str, generation: i32) -> Result<(), ErrorCode> {
        if self.fenced.contains(member_id) {
            return Err(ErrorCode::FENCED_INSTANCE_ID);
        }
        if !self.members.contains_key(member_id) {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        if generation != self.generation {
            return Err(ErrorCode::ILLEGAL_GENERATION);
        }
        Ok(())
    }

    /// A SyncGroup: the leader's assignments make the group Stable. `Ok(None)` means wait.
    pub fn sync(
        &mut self,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Result<Option<Bytes>, ErrorCode> {
        self.check_member(member_id, generation)?;
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.phase {
            Phase::PreparingRebalance | Phase::Empty => Err(ErrorCode::REBALANCE_IN_PROGRESS),
            Phase::CompletingRebalance => {
                if self.leader.as_deref() == Some(member_id) {
                    for (id, assignment) in assignments {
                        if let Some(m) = self.members.get_mut(&id) {
                            m.assignment = assignment;
                        }
                    }
                    self.phase = Phase::Stable;
                    Ok(self.members.get(member_id).map(|m| m.assignment.clone()))
                } else {
                    Ok(None)
                }
            }
            Phase::Stable => Ok(self.members.get(member_id).map(|m| m.assignment.clone())),
        }
    }

    /// A Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        self.check_member(member_id, generation)?;
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        if self.phase == Phase::PreparingRebalance {
            return Err(ErrorCode::REBALANCE_IN_PROGRESS);
        }
        Ok(())
    }

    /// A LeaveGroup for one member (by id, or by static instance id).
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        let id = match instance_id {
            Some(instance) if member_id.is_empty() => self
                .members
                .iter()
                .find(|(_, m)| m.instance_id.as_deref() == Some(instance))
                .map(|(id, _)| id.clone())
                .ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?,
            _ => member_id.to_string(),
        };
        if self.members.remove(&id).is_none() {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        self.joined.remove(&id);
        self.start_rebalance(now);
        self.try_complete(now);
        Ok(())
    }

    /// Whether `member_id` of `generation` may commit offsets. As in Kafka's
    /// `GroupCoordinator`, a member of the current generation may commit while the group
    /// prepares a rebalance (that is when eager members commit before giving their partitions
    /// up); only between the join and the leader's assignment is it REBALANCE_IN_PROGRESS.
    pub fn may_commit(&self, member_id: &str, generation: i32) -> Result<(), ErrorCode> {
        if self.phase == Phase::CompletingRebalance {
            return Err(ErrorCode::REBALANCE_IN_PROGRESS);
        }
        self.check_member(member_id, generation)
    }
}

/// Every group's membership.
#[derive(Debug, Default)]
pub struct Memberships {
    groups: parking_lot::Mutex<HashMap<String, Group>>,
    /// Woken whenever any group's membership changes, so waiting joins and syncs re-check.
    pub changed: tokio::sync::Notify,
}

impl Memberships {
    /// Runs `f` on `group` (created empty if new), after expiring dead members, and wakes the
    /// requests waiting on the group if its membership or phase changed. Only real changes
    /// wake them: a waiter re-checking must not wake itself (it would spin).
    pub fn with<R>(&self, group: &str, f: impl FnOnce(&mut Group) -> R) -> R {
        let mut groups = self.groups.lock();
        let g = groups.entry(group.to_string()).or_default();
        let before = g.fingerprint();
        g.expire(Instant::now());
        let out = f(g);
        let changed = g.fingerprint() != before;
        drop(groups);
        if changed {
            self.changed.notify_waiters();
        }
        out
    }

    /// Every group with a membership record: its name, phase and protocol type.
    pub fn states(&self) -> Vec<(String, Phase, Option<String>)> {
        self.groups
            .lock()
            .iter()
            .map(|(name, g)| (name.clone(), g.phase, g.protocol_type.clone()))
            .collect()
    }

    /// What DescribeGroups reports of `group`; `None` if it has no membership record.
    pub fn describe(&self, group: &str) -> Option<GroupSummary> {
        let mut groups = self.groups.lock();
        let g = groups.get_mut(group)?;
        g.expire(Instant::now());
        // As Kafka's coordinator: metadata and assignments only once they mean something,
        // in a Stable group; otherwise the members alone.
        let stable = g.phase == Phase::Stable;
        let protocol = if stable { g.protocol.clone() } else { None };
        let members = g
            .members
            .iter()
            .map(|(id, m)| MemberSummary {
                member_id: id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: protocol
                    .as_ref()
                    .and_then(|p| m.protocols.iter().find(|(n, _)| n == p))
                    .map(|(_, md)| md.clone())
                    .unwrap_or_default(),
                assignment: if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                },
            })
            .collect();
        Some(GroupSummary {
            phase: g.phase,
            protocol_type: g.protocol_type.clone(),
            protocol,
            members,
        })
    }

    /// The members of `group`, for inspection.
    pub fn members(&self, group: &str) -> Vec<String> {
        self.groups
            .lock()
            .get(group)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(member: &str, timeout_ms: u64) -> JoinRequest {
        JoinRequest {
            member_id: member.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"md"))],
            session_timeout: Duration::from_millis(timeout_ms),
            rebalance_timeout: Duration::from_millis(timeout_ms),
            requires_member_id: true,
        }
    }

    fn joined(outcome: Result<JoinOutcome, ErrorCode>) -> String {
        match outcome {
            Ok(JoinOutcome::Joined(id)) => id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_members_rebalance_and_sync() {
        let mut g = Group::new();
        let now = Instant::now();
        let Ok(JoinOutcome::MemberIdRequired(a)) = g.join(join("", 10_000), now) else {
            panic!()
        };
        let a = joined(g.join(join(&a, 10_000), now));
        assert_eq!((g.phase, g.generation), (Phase::CompletingRebalance, 1));
        assert_eq!(
            g.join_result(&a).unwrap().members.len(),
            1,
            "the leader sees the members"
        );
        assert_eq!(
            g.sync(&a, 1, vec![(a.clone(), Bytes::from_static(b"p0"))], now),
            Ok(Some(Bytes::from_static(b"p0")))
        );
        assert_eq!(g.phase, Phase::Stable);

        let Ok(JoinOutcome::MemberIdRequired(b)) = g.join(join("", 10_000), now) else {
            panic!()
        };
        let b = joined(g.join(join(&b, 10_000), now));
        assert_eq!(
            g.phase,
            Phase::PreparingRebalance,
            "waiting for a to rejoin"
        );
        assert_eq!(
            g.heartbeat(&a, 1, now),
            Err(ErrorCode::REBALANCE_IN_PROGRESS)
        );
        joined(g.join(join(&a, 10_000), now));
        assert_eq!((g.phase, g.generation), (Phase::CompletingRebalance, 2));
        assert_eq!(g.join_result(&b).unwrap().leader, a, "the leader is kept");
        assert_eq!(
            g.sync(&b, 2, vec![], now),
            Ok(None),
            "followers wait for the leader"
        );
        g.sync(&a, 2, vec![(b.clone(), Bytes::from_static(b"p1"))], now)
            .unwrap();
        assert_eq!(
            g.sync(&b, 2, vec![], now),
            Ok(Some(Bytes::from_static(b"p1")))
        );
        assert_eq!(g.heartbeat(&b, 1, now), Err(ErrorCode::ILLEGAL_GENERATION));
        assert_eq!(
            g.heartbeat("nobody", 2, now),
            Err(ErrorCode::UNKNOWN_MEMBER_ID)
        );
        g.leave(&b, None, now).unwrap();
        assert_eq!(g.phase, Phase::PreparingRebalance);
    }

    #[test]
    fn stragglers_are_dropped_at_the_deadline_and_silent_members_expire() {
        let mut g = Group::new();
        let t0 = Instant::now();
        let mut request = join("", 100);
        request.requires_member_id = false;
        let a = joined(g.join(request.clone(), t0));
        let b = joined(g.join(request, t0));
        assert_eq!(g.phase, Phase::PreparingRebalance, "a must rejoin for b");
        assert!(!g.try_complete(t0));
        assert!(g.try_complete(t0 + Duration::from_millis(150)));
        assert_eq!(
            g.members.keys().cloned().collect::<Vec<_>>(),
            vec![b.clone()]
        );
        g.sync(&b, g.generation, vec![], t0).unwrap();
        g.expire(t0 + Duration::from_millis(500));
        assert_eq!(g.phase, Phase::Empty, "b stopped heartbeating");
        let _ = a;
    }

    #[test]
    fn a_static_member_takes_over_its_slot() {
        let mut g = Group::new();
        let now = Instant::now();
        let mut request = join("", 10_000);
        request.instance_id = Some("i-1".into());
        request.requires_member_id = false;
        let first = joined(g.join(request.clone(), now));
        g.sync(
            &first,
            1,
            vec![(first.clone(), Bytes::from_static(b"p"))],
            now,
        )
        .unwrap();
        let second = joined(g.join(request.clone(), now));
        assert_ne!(first, second);
        assert_eq!(
            g.heartbeat(&first, g.generation, now),
            Err(ErrorCode::FENCED_INSTANCE_ID)
        );
        assert_eq!(g.members.len(), 1);
        // Same protocol, group stable: no rebalance, the assignment moves to the new id.
        assert_eq!((g.phase, g.generation), (Phase::Stable, 1));
        assert_eq!(
            g.sync(&second, 1, vec![], now),
            Ok(Some(Bytes::from_static(b"p")))
        );

        // A rejoin that would change the group's protocol does rebalance.
        request.protocols = vec![
            ("roundrobin".into(), Bytes::from_static(b"md")),
            ("range".into(), Bytes::from_static(b"md")),
        ];
        let third = joined(g.join(request, now));
        assert_ne!(third, second);
        assert_eq!(g.phase, Phase::CompletingRebalance);
        assert_eq!(g.generation, 2);
    }

    #[test]
    fn a_completed_join_keeps_its_answer_when_the_next_rebalance_starts_first() {
        let mut g = Group::new();
        let now = Instant::now();
        let mut request = join("", 10_000);
        request.requires_member_id = false;
        // a's join completes generation 1 …
        let a = joined(g.join(request.clone(), now));
        assert_eq!((g.phase, g.generation), (Phase::CompletingRebalance, 1));
        // … but b's join starts generation 2 before a's handler collects the answer.
        let b = joined(g.join(request, now));
        assert_eq!(g.phase, Phase::PreparingRebalance);
        let answer = g
            .take_join_answer(&a)
            .expect("a is told about generation 1");
        assert_eq!((answer.generation, answer.leader.as_str()), (1, a.as_str()));
        assert!(g.take_join_answer(&b).is_none(), "b waits for generation 2");

        // a rejoins (its sync fails with REBALANCE_IN_PROGRESS): generation 2 completes and
        // both are answered from it, whoever collects first.
        joined(g.join(join(&a, 10_000), now));
        assert_eq!((g.phase, g.generation), (Phase::CompletingRebalance, 2));
        assert_eq!(g.take_join_answer(&b).map(|r| r.generation), Some(2));
        assert_eq!(g.take_join_answer(&a).map(|r| r.generation), Some(2));

        // Members that leave take their uncollected answers with them.
        g.leave(&a, None, now).unwrap();
        g.leave(&b, None, now).unwrap();
        assert_eq!(g.phase, Phase::Empty);
        assert!(g.answers.is_empty());
    }
}
