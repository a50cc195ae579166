//! One rebalance of the classic protocol, as the member runs it:
//!
//! 1. **Eager** (any configured assignor is eager, as Java's default list is): every owned
//!    partition is revoked first, committed and handed back, before the JoinGroup.
//!    **Cooperative** (only `cooperative-sticky` configured): nothing is revoked yet; the
//!    subscription lists what the member owns, so the leader can keep it there.
//! 2. JoinGroup (a new member is told to rejoin with the id it was given, KIP-394).
//! 3. SyncGroup: the leader decodes every member's subscription, reads partition counts from
//!    fresh metadata, runs the chosen assignor and sends each member its partitions.
//! 4. The new assignment: partitions no longer assigned are revoked (cooperative; a follow-up
//!    rebalance then hands them to their new owner), new ones get their committed offsets
//!    (OffsetFetch) and go to the fetcher; where nothing is committed, `auto_offset_reset`
//!    decides.
//!
//! A revocation is run by the application task (see [`super`] and `revocation`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use krafka_protocol::ErrorCode;
use krafka_protocol::messages::join_group_response::JoinGroupResponseMember;

use super::GroupEvent;
use super::coordinator::{GroupTask, Interrupt, Step, classify};
use super::requests::{self, JoinArgs};
use crate::assignor::{self, protocol};
use crate::config::{AssignorKind, IsolationLevel, OffsetReset};
use crate::error::ConsumeError;
use crate::record::TopicPartition;
use crate::state::{OffsetSpec, PartitionState};

/// A completed JoinGroup.
struct Joined {
    protocol: AssignorKind,
    /// The members and their subscriptions (the leader's answer only).
    members: Vec<JoinGroupResponseMember>,
    leader: bool,
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

impl GroupTask {
    /// Whether rebalances are cooperative: only when every configured assignor is (Java's
    /// rule; one eager assignor makes the member eager).
    fn cooperative(&self) -> bool {
        self.config
            .assignors
            .iter()
            .all(|a| *a == AssignorKind::CooperativeSticky)
    }

    pub(super) async fn rebalance(&mut self) -> Step<()> {
        if !self.cooperative() && !self.owned.is_empty() {
            let owned: Vec<TopicPartition> = self.owned.iter().cloned().collect();
            self.revoke(owned).await?;
        }
        let Some(joined) = self.join().await? else {
            return Ok(());
        };
        let Some(assigned) = self.sync(joined).await? else {
            return Ok(());
        };
        // Only now: a join or sync that failed on the way leaves the rejoin pending (Java
        // keeps "rejoin needed" until the SyncGroup is answered).
        self.rejoin = false;
        self.shared.metrics.rebalanced();
        self.apply(assigned).await
    }

    /// Sends the JoinGroup; `None` when it must be sent again (with the id the coordinator
    /// gave, or after a rebalance restarted).
    async fn join(&mut self) -> Step<Option<Joined>> {
        let conn = self.conn()?;
        let owned: Vec<TopicPartition> = if self.cooperative() {
            self.owned.iter().cloned().collect()
        } else {
            Vec::new()
        };
        let mut protocols = Vec::with_capacity(self.config.assignors.len());
        for assignor in &self.config.assignors {
            let metadata =
                protocol::encode_subscription(&self.subscription, &owned, self.member.generation)
                    .map_err(|e| Interrupt::Fatal(ConsumeError::Network(e.into())))?;
            protocols.push((assignor.protocol_name(), metadata));
        }
        let member = self.member.clone();
        let args = JoinArgs {
            session_timeout: self.config.session_timeout,
            rebalance_timeout: self.config.max_poll_interval,
            protocols,
            reason: "joining the group",
        };
        tracing::debug!(group = %self.member.group, member = %self.member.member_id, "joining");
        let response = match self
            .finishing(async move { requests::join(&conn, &member, args).await })
            .await?
        {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(group = %self.member.group, error = %e, "JoinGroup failed");
                return Err(Interrupt::CoordinatorLost);
            }
        };
        match ErrorCode::from(response.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                self.member.member_id = response.member_id;
                self.rejoin = true;
                return Ok(None);
            }
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.rejoin = true;
                return Ok(None);
            }
            code => {
                classify(code)?;
                return Ok(None);
            }
        }
        let name = response.protocol_name.as_deref().unwrap_or_default();
        let Some(protocol) = assignor_named(name) else {
            return Err(Interrupt::Fatal(ConsumeError::Group(
                ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
            )));
        };
        self.member.member_id = response.member_id;
        self.member.generation = response.generation_id;
        self.protocol = Some(protocol);
        let leader = response.leader == self.member.member_id;
        tracing::debug!(
            group = %self.member.group,
            member = %self.member.member_id,
            generation = self.member.generation,
            protocol = name,
            leader,
            "joined"
        );
        Ok(Some(Joined {
            protocol,
            members: response.members,
            leader,
        }))
    }

    /// Sends the SyncGroup (with every member's assignment, as leader); the partitions this
    /// member got, or `None` when it must rejoin.
    async fn sync(&mut self, joined: Joined) -> Step<Option<Vec<TopicPartition>>> {
        let assignments = if joined.leader {
            self.assign_as_leader(&joined).await?
        } else {
            self.assigned_counts = None;
            Vec::new()
        };
        let conn = self.conn()?;
        let member = self.member.clone();
        let name = joined.protocol.protocol_name();
        let answer = self
            .finishing(async move { requests::sync(&conn, &member, name, assignments).await })
            .await?;
        let (code, bytes) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                tracing::debug!(group = %self.member.group, error = %e, "SyncGroup failed");
                return Err(Interrupt::CoordinatorLost);
            }
        };
        match code {
            ErrorCode::NONE => {}
            ErrorCode::REBALANCE_IN_PROGRESS => {
                self.rejoin = true;
                return Ok(None);
            }
            code => {
                classify(code)?;
                return Ok(None);
            }
        }
        match protocol::decode_assignment(&bytes) {
            Ok(partitions) => Ok(Some(partitions)),
            Err(e) => {
                tracing::warn!(group = %self.member.group, error = %e, "the leader's assignment is malformed");
                Err(Interrupt::Fatal(ConsumeError::Network(e.into())))
            }
        }
    }

    /// The leader's work: every member's partitions, encoded.
    async fn assign_as_leader(&mut self, joined: &Joined) -> Step<Vec<(String, Bytes)>> {
        let members: Vec<assignor::Member> = joined
            .members
            .iter()
            .map(|m| {
                protocol::decode_subscription(
                    &m.member_id,
                    m.group_instance_id.as_deref(),
                    &m.metadata,
                )
                .unwrap_or_else(|e| {
                    // A member whose subscription cannot be read gets nothing, rather than
                    // the whole group failing.
                    tracing::warn!(member = %m.member_id, error = %e, "unreadable subscription");
                    assignor::Member {
                        id: m.member_id.to_string(),
                        instance_id: m.group_instance_id.as_ref().map(ToString::to_string),
                        topics: BTreeSet::new(),
                        owned: Vec::new(),
                        generation: -1,
                    }
                })
            })
            .collect();
        let topics: BTreeSet<Arc<str>> = members
            .iter()
            .flat_map(|m| m.topics.iter().cloned())
            .collect();
        self.metadata
            .add_topics(topics.iter().map(|t| t.to_string()));
        let metadata = self.metadata.clone();
        let snapshot = match self
            .finishing(async move { metadata.refresh().await })
            .await?
        {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::debug!(error = %e, "metadata refresh failed; assigning from the cached picture");
                self.metadata.snapshot()
            }
        };
        // Every subscribed topic, 0 for one that does not exist (yet): the leader rejoins when
        // any count changes, a topic appearing included.
        let all_counts: BTreeMap<Arc<str>, i32> = topics
            .iter()
            .map(|t| (t.clone(), partition_count(&snapshot, t)))
            .collect();
        let counts: BTreeMap<Arc<str>, i32> = all_counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        let assignment = assignor::assign(joined.protocol, &members, &counts);
        tracing::debug!(group = %self.member.group, ?assignment, "assigned as leader");
        self.assigned_counts = Some(all_counts);
        let mut out = Vec::with_capacity(assignment.len());
        for (member, partitions) in assignment {
            let bytes = protocol::encode_assignment(&partitions)
                .map_err(|e| Interrupt::Fatal(ConsumeError::Network(e.into())))?;
            out.push((member, bytes));
        }
        Ok(out)
    }

    /// Takes the new assignment: revokes what went away, hands out what is new.
    async fn apply(&mut self, assigned: Vec<TopicPartition>) -> Step<()> {
        let assigned: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        self.metadata
            .add_topics(assigned.iter().map(|tp| tp.topic.to_string()));
        let revoked: Vec<TopicPartition> = self.owned.difference(&assigned).cloned().collect();
        let added: Vec<TopicPartition> = assigned.difference(&self.owned).cloned().collect();
        tracing::info!(
            group = %self.member.group,
            generation = self.member.generation,
            assigned = assigned.len(),
            added = added.len(),
            revoked = revoked.len(),
            "assignment received"
        );
        self.next_heartbeat = Instant::now() + self.config.heartbeat_interval;
        // Recorded before anything is awaited: an interruption must not lose the new
        // partitions or the follow-up rebalance.
        self.owned.extend(added.iter().cloned());
        self.pending_offsets.extend(added);
        if !revoked.is_empty() {
            // Cooperative: the partitions given up go to their new owner in a follow-up.
            self.rejoin = true;
            self.revoke(revoked).await?;
        }
        self.hand_out_pending().await
    }

    /// Looks up the committed offsets of owned partitions not yet handed to the fetcher, and
    /// hands them over.
    pub(super) async fn hand_out_pending(&mut self) -> Step<()> {
        if self.pending_offsets.is_empty() {
            return Ok(());
        }
        let pending: Vec<TopicPartition> = self.pending_offsets.iter().cloned().collect();
        let conn = self.conn()?;
        let member = self.member.clone();
        let stable = self.config.isolation_level == IsolationLevel::ReadCommitted;
        let timeout = self.config.request_timeout;
        let lookup = pending.clone();
        let answer = self
            .interruptible(async move {
                tokio::time::timeout(
                    timeout,
                    requests::fetch_committed(&conn, &member, &lookup, stable),
                )
                .await
            })
            .await?;
        let committed = match answer {
            Ok(Ok(Ok(found))) => found,
            Ok(Ok(Err(code))) if code.is_retriable() => {
                tracing::debug!(group = %self.member.group, %code, "committed offsets not ready; retrying");
                if matches!(
                    code,
                    ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE
                ) {
                    return Err(Interrupt::CoordinatorLost);
                }
                let delay = self.backoff.next_delay();
                self.interruptible(tokio::time::sleep(delay)).await?;
                return Ok(());
            }
            Ok(Ok(Err(code))) => return classify(code),
            Ok(Err(_)) | Err(_) => return Err(Interrupt::CoordinatorLost),
        };
        let reset = match self.config.auto_offset_reset {
            OffsetReset::Earliest => Some(OffsetSpec::Earliest),
            OffsetReset::Latest => Some(OffsetSpec::Latest),
            OffsetReset::None => None,
        };
        let mut state = self.shared.state.lock();
        for tp in &pending {
            if state.partitions.contains_key(tp) {
                continue;
            }
            let epoch = state.next_epoch();
            let offset = committed.get(tp).copied().flatten();
            let mut p = PartitionState::new(reset, epoch, seed(tp));
            match offset {
                Some(offset) => {
                    p.reset = None;
                    p.fetch_offset = Some(offset);
                    p.position = Some(offset);
                }
                None if reset.is_none() => {
                    state.errors.push_back(ConsumeError::NoPosition(tp.clone()));
                }
                None => {}
            }
            tracing::debug!(group = %self.member.group, partition = %tp, committed = ?offset, "partition handed to the fetcher");
            state.partitions.insert(tp.clone(), p);
        }
        drop(state);
        self.pending_offsets.clear();
        self.backoff.reset();
        self.publish(GroupEvent::Assigned(pending));
        self.shared.wake_fetcher.notify_one();
        Ok(())
    }
}

/// A topic's partition count as metadata knows it; 0 when it does not exist or is in error.
pub(super) fn partition_count(snapshot: &krafka_net::MetadataSnapshot, topic: &str) -> i32 {
    snapshot
        .topic(topic)
        .filter(|t| t.error == ErrorCode::NONE)
        .map_or(0, |t| t.partitions.len() as i32)
}

fn seed(tp: &TopicPartition) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tp.hash(&mut h);
    h.finish()
}
