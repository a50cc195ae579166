//! The application side of group membership: `subscribe`, commits, committed offsets, and
//! the group events the group task leaves (revocations, assignments, losses), run at the start
//! of each `recv`/`poll` together with the rebalance listener.
//!
//! What counts as processed (for auto-commit and for revocations with auto-commit on): every
//! record handed out before the current `recv`/`poll` call, as in Java, where the records of
//! one `poll` count as processed when the next `poll` is made.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::handle::{Consumer, GroupLink};
use crate::error::ConsumeError;
use crate::group::{Command, GroupEvent, Offsets, RebalanceListener, RevokedOffsets};
use crate::record::TopicPartition;

/// A commit on its way (from [`Consumer::commit_async`]): await it for the outcome, or drop it
/// and the commit still happens.
#[derive(Debug)]
pub struct CommitHandle {
    rx: Option<oneshot::Receiver<Result<(), ConsumeError>>>,
    immediate: Option<Result<(), ConsumeError>>,
}

impl CommitHandle {
    fn ready(result: Result<(), ConsumeError>) -> Self {
        Self {
            rx: None,
            immediate: Some(result),
        }
    }
}

impl Future for CommitHandle {
    type Output = Result<(), ConsumeError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.immediate.take() {
            return Poll::Ready(result);
        }
        match &mut self.rx {
            Some(rx) => Pin::new(rx)
                .poll(cx)
                .map(|r| r.unwrap_or(Err(ConsumeError::Closed))),
            None => Poll::Ready(Err(ConsumeError::Closed)),
        }
    }
}

impl Consumer {
    fn link(&mut self) -> Result<&mut GroupLink, ConsumeError> {
        self.group.as_mut().ok_or(ConsumeError::NoGroup)
    }

    /// Joins the group and consumes `topics` (Java's `subscribe`); the group's assignor decides
    /// which partitions this member gets. Replaces any earlier subscription; an empty list
    /// unsubscribes. Needs a `group_id`, and no partitions assigned with
    /// [`assign`](Self::assign).
    pub fn subscribe<S: AsRef<str>>(
        &mut self,
        topics: impl IntoIterator<Item = S>,
    ) -> Result<(), ConsumeError> {
        let topics: BTreeSet<Arc<str>> =
            topics.into_iter().map(|t| Arc::from(t.as_ref())).collect();
        let manual = !self.shared.state.lock().partitions.is_empty();
        let link = self.link()?;
        if manual && !link.subscribed {
            return Err(ConsumeError::SubscriptionConflict);
        }
        link.subscribed = !topics.is_empty();
        link.commands
            .send(Command::Subscribe(topics))
            .map_err(|_| ConsumeError::Closed)
    }

    /// Leaves the group: the partitions are revoked (committed first with auto-commit on, and
    /// the listener told) at the next `recv`/`poll`.
    pub fn unsubscribe(&mut self) -> Result<(), ConsumeError> {
        self.subscribe(std::iter::empty::<&str>())
    }

    /// Runs `listener` whenever the group changes this member's partitions. It runs on the
    /// application's task, inside `recv`/`poll`/`close`.
    pub fn set_rebalance_listener(
        &mut self,
        listener: impl RebalanceListener + 'static,
    ) -> Result<(), ConsumeError> {
        self.link()?.listener = Some(Box::new(listener));
        Ok(())
    }

    /// Commits the offsets of every record handed out so far, for every assigned partition
    /// (Java's `commitSync()`), and waits for the answer.
    ///
    /// Cancel-safe in that cancelling only stops the wait: the commit is sent either way.
    pub async fn commit(&mut self) -> Result<(), ConsumeError> {
        self.commit_async().await
    }

    /// Like [`commit`](Self::commit), without waiting (Java's `commitAsync()`): the returned
    /// handle may be awaited for the outcome or dropped.
    pub fn commit_async(&mut self) -> CommitHandle {
        let offsets = self.consumed_offsets();
        self.commit_offsets_async(offsets)
    }

    /// Commits `offsets`: for each partition, the offset of the next record to consume (one
    /// past the last processed record, as in Java). Waits for the answer; cancel-safe like
    /// [`commit`](Self::commit).
    pub async fn commit_offsets(
        &mut self,
        offsets: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> Result<(), ConsumeError> {
        self.commit_offsets_async(offsets).await
    }

    /// Like [`commit_offsets`](Self::commit_offsets), without waiting.
    pub fn commit_offsets_async(
        &mut self,
        offsets: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> CommitHandle {
        let offsets: Offsets = offsets.into_iter().collect();
        let link = match self.link() {
            Ok(link) => link,
            Err(e) => return CommitHandle::ready(Err(e)),
        };
        if offsets.is_empty() {
            return CommitHandle::ready(Ok(()));
        }
        let (reply, rx) = oneshot::channel();
        let sent = link.commands.send(Command::Commit {
            offsets,
            reply: Some(reply),
        });
        match sent {
            Ok(()) => CommitHandle {
                rx: Some(rx),
                immediate: None,
            },
            Err(_) => CommitHandle::ready(Err(ConsumeError::Closed)),
        }
    }

    /// The group's committed offsets of `partitions` (`None` where nothing is committed),
    /// from the coordinator (Java's `committed`).
    ///
    /// Cancel-safe: it only reads.
    pub async fn committed(
        &mut self,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> Result<HashMap<TopicPartition, Option<i64>>, ConsumeError> {
        let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        let (reply, rx) = oneshot::channel();
        self.link()?
            .commands
            .send(Command::Committed { partitions, reply })
            .map_err(|_| ConsumeError::Closed)?;
        rx.await.unwrap_or(Err(ConsumeError::Closed))
    }

    /// What to commit for every assigned partition: its position (the offset after the last
    /// record handed out), or, while a helper tracks processing, the offset after the last
    /// record it finished.
    pub(super) fn consumed_offsets(&self) -> Offsets {
        self.committable(|_| true)
    }

    /// [`consumed_offsets`](Self::consumed_offsets) of the partitions `wanted` accepts.
    fn committable(&self, wanted: impl Fn(&TopicPartition) -> bool) -> Offsets {
        let processed = self.processed.as_ref().map(|p| p.lock());
        let state = self.shared.state.lock();
        let mut out = Vec::with_capacity(state.partitions.len());
        for (tp, p) in state.partitions.iter().filter(|(tp, _)| wanted(tp)) {
            let offset = match (&processed, &self.drain) {
                (Some(processed), _) => processed.get(tp).copied(),
                (None, Some(d)) if d.partition == *tp && d.epoch == p.epoch => Some(d.position),
                (None, _) => p.position,
            };
            if let Some(offset) = offset {
                out.push((tp.clone(), offset));
            }
        }
        out
    }

    /// The partitions of revocations the group task has asked for and the application has not
    /// run yet (they run at the next `recv`/`poll`).
    pub(super) fn revocation_pending(&self) -> Option<Vec<TopicPartition>> {
        let link = self.group.as_ref()?;
        if self.shared.group_changes.load(Ordering::Acquire) == link.seen_changes {
            return None;
        }
        let state = self.shared.state.lock();
        let revoked: Vec<TopicPartition> = state
            .group_events
            .iter()
            .filter_map(|e| match e {
                GroupEvent::Revoke { partitions, .. } => Some(partitions.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        (!revoked.is_empty()).then_some(revoked)
    }

    /// Group work at the start of every `recv`/`poll`: count the poll, run what the group task
    /// left, and auto-commit when due. Costs two atomic loads and a store when there is
    /// nothing to do.
    pub(super) fn on_poll(&mut self) {
        let Some(link) = &mut self.group else {
            return;
        };
        self.polls += 1;
        self.shared.polls.store(self.polls, Ordering::Relaxed);
        let changes = self.shared.group_changes.load(Ordering::Acquire);
        if changes != link.seen_changes {
            link.seen_changes = changes;
            self.apply_group_events();
        }
        if self.shared.commit_due.load(Ordering::Relaxed)
            && self.shared.commit_due.swap(false, Ordering::AcqRel)
        {
            let offsets = self.consumed_offsets();
            if let Some(link) = &self.group
                && !offsets.is_empty()
            {
                let _ = link.commands.send(Command::Commit {
                    offsets,
                    reply: None,
                });
            }
        }
    }

    fn apply_group_events(&mut self) {
        let mut listener = self.group.as_mut().and_then(|l| l.listener.take());
        loop {
            let event = self.shared.state.lock().group_events.pop_front();
            let Some(event) = event else {
                break;
            };
            match event {
                GroupEvent::Assigned(partitions) => {
                    // A helper's work from an earlier assignment of these partitions (finished
                    // after they were given up) must not be committed for the new one.
                    self.forget_processed(&partitions);
                    if let Some(l) = listener.as_mut() {
                        l.on_partitions_assigned(&partitions);
                    }
                }
                GroupEvent::Lost(partitions) => {
                    self.drop_drain_of(|tp| partitions.contains(tp));
                    self.forget_processed(&partitions);
                    if let Some(l) = listener.as_mut() {
                        l.on_partitions_lost(&partitions);
                    }
                }
                GroupEvent::Revoke { id, partitions } => {
                    let commit = self.revoke(&partitions, listener.as_mut());
                    if let Some(link) = &self.group {
                        let _ = link.commands.send(Command::Revoked { id, commit });
                    }
                }
            }
        }
        if let Some(link) = self.group.as_mut() {
            link.listener = listener;
        }
    }

    /// Gives `partitions` up: their positions (and whatever the listener adds) are returned
    /// for committing, and they leave the assignment.
    fn revoke(
        &mut self,
        partitions: &[TopicPartition],
        listener: Option<&mut Box<dyn RebalanceListener>>,
    ) -> Offsets {
        self.drop_drain_of(|tp| partitions.contains(tp));
        let positions = self.committable(|tp| partitions.contains(tp));
        let mut offsets = RevokedOffsets::new(positions, self.config.auto_commit());
        if let Some(l) = listener {
            l.on_partitions_revoked(partitions, &mut offsets);
        }
        self.forget_processed(partitions);
        let mut state = self.shared.state.lock();
        for tp in partitions {
            state.discard_ready(tp);
            state.partitions.remove(tp);
        }
        drop(state);
        self.shared.wake_fetcher.notify_one();
        offsets.into_commit()
    }

    /// Drops a helper's processed offsets of partitions given up, so a later assignment of
    /// the same partition never commits them.
    fn forget_processed(&self, partitions: &[TopicPartition]) {
        if let Some(processed) = &self.processed {
            let mut processed = processed.lock();
            for tp in partitions {
                processed.remove(tp);
            }
        }
    }

    /// The group part of `close`: the listener hears every partition revoked, the final commit
    /// (auto-commit's positions, or what the listener says) is made, and the member leaves.
    pub(super) async fn close_group(&mut self) {
        // Answer a revocation the group task may be waiting for, so the close does not wait
        // it out.
        if let Some(link) = &mut self.group {
            let changes = self.shared.group_changes.load(Ordering::Acquire);
            if changes != link.seen_changes {
                link.seen_changes = changes;
                self.apply_group_events();
            }
        }
        let Some(mut link) = self.group.take() else {
            return;
        };
        let partitions = self.assignment();
        let positions = self.consumed_offsets();
        let mut offsets = RevokedOffsets::new(positions, self.config.auto_commit());
        if link.subscribed
            && let Some(l) = link.listener.as_mut()
        {
            l.on_partitions_revoked(&partitions, &mut offsets);
        }
        let (reply, done) = oneshot::channel();
        let sent = link.commands.send(Command::Close {
            commit: offsets.into_commit(),
            reply,
        });
        if sent.is_ok() {
            let _ = done.await;
        }
        if let Some(task) = link.task.take() {
            let _ = task.await;
        }
    }
}
