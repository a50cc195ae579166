//! How the member takes each answer of its own requests: FindCoordinator, JoinGroup (the
//! leader's and a follower's), the leader's partition counts, SyncGroup, Heartbeat and the
//! committed offsets fetched after an assignment. Commits and lookups are `ops`'.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use krafka_net::NetError;
use krafka_protocol::ErrorCode;

use super::messages::{Event, JoinAnswer, Metric};
use super::outcome::{Verdict, classify, is_fatal};
use super::rebalance::{self, JoinRead, SyncRead};
use super::{GroupMember, Joined, State, leader};
use crate::error::ConsumeError;
use crate::record::TopicPartition;

impl GroupMember {
    pub(super) fn found(&mut self, now: Instant, found: Result<Result<i32, ErrorCode>, NetError>) {
        match found {
            Ok(Ok(node)) => {
                tracing::debug!(group = %self.identity.group, node, "coordinator found");
                self.coordinator.found(node);
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
    pub(super) fn coordinator_not_found(&mut self, now: Instant) {
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

    pub(super) fn joined(&mut self, now: Instant, answer: Result<JoinAnswer, NetError>) {
        let (protocol, led) = match rebalance::read_join(answer) {
            JoinRead::Again { member_id } => {
                if let Some(id) = member_id {
                    self.identity.member_id = id;
                }
                return;
            }
            JoinRead::Failed(verdict) => return self.interrupt(now, verdict),
            JoinRead::Joined {
                protocol,
                member_id,
                generation,
                led,
            } => {
                self.identity.member_id = member_id;
                self.identity.generation = generation;
                (protocol, led)
            }
        };
        tracing::debug!(
            group = %self.identity.group,
            member = %self.identity.member_id,
            generation = self.identity.generation,
            protocol = protocol.protocol_name(),
            leader = led.is_some(),
            "joined"
        );
        match led {
            Some(members) => {
                self.events.push_back(Event::WatchTopics(
                    leader::subscribed_topics(&members).into_iter().collect(),
                ));
                self.state = State::Assigning(Joined { protocol, members });
            }
            None => {
                self.assigned_counts = None;
                self.state = State::Syncing {
                    protocol,
                    assignments: Vec::new(),
                };
            }
        }
    }

    /// The leader has the partition counts: every member's assignment goes into the sync.
    pub(super) fn assign(&mut self, now: Instant, counts: BTreeMap<Arc<str>, i32>) {
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

    pub(super) fn synced(&mut self, now: Instant, answer: Result<(ErrorCode, Bytes), NetError>) {
        let assigned = match rebalance::read_sync(answer) {
            SyncRead::Assigned(assigned) => assigned,
            SyncRead::Rejoin => {
                tracing::debug!(group = %self.identity.group, generation = self.identity.generation,
                    "SyncGroup answered REBALANCE_IN_PROGRESS; joining again");
                self.state = State::Joining;
                return;
            }
            SyncRead::Failed(verdict) => return self.interrupt(now, verdict),
            SyncRead::Malformed(e) => {
                tracing::warn!(group = %self.identity.group, error = %e, "the leader's assignment is malformed");
                return self.interrupt_with(now, ConsumeError::Network(e.into()));
            }
        };
        // Only now: a join or sync that failed on the way leaves the rejoin pending (Java
        // keeps "rejoin needed" until the SyncGroup is answered).
        self.rejoin = false;
        self.events.push_back(Event::Metric(Metric::Rebalanced));
        self.events.push_back(Event::WatchTopics(
            assigned
                .iter()
                .map(|tp| tp.topic.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ));
        let (revoked, added) = self.holdings.take(&assigned);
        tracing::info!(
            group = %self.identity.group,
            generation = self.identity.generation,
            assigned = assigned.len(),
            added,
            revoked = revoked.len(),
            "assignment received"
        );
        self.next_heartbeat = now + self.config.heartbeat_interval;
        self.state = State::Stable;
        if self.closing.is_some() {
            // The close's commit covers what the application holds; nothing is asked of it.
            return;
        }
        // Cooperative: the partitions given up go to their new owner in a follow-up.
        if !revoked.is_empty() {
            self.rejoin = true;
            if self.revoke(revoked) {
                return;
            }
        }
        self.settle(now);
    }

    pub(super) fn heartbeat_answered(&mut self, now: Instant, answer: Result<ErrorCode, NetError>) {
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

    pub(super) fn offsets_found(
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
                self.coordinator.pause(now);
                return;
            }
            Ok(Err(code)) => return self.interrupt(now, classify(code)),
            Err(_) => return self.interrupt(now, Verdict::CoordinatorLost),
        };
        // Only what is still pending: a partition revoked meanwhile is not handed out.
        let handed = self.holdings.hand_out(partitions, &committed);
        self.coordinator.succeeded();
        if !handed.is_empty() {
            self.events.push_back(Event::Assign(handed));
        }
        self.state = State::Stable;
        self.settle(now);
    }
}
