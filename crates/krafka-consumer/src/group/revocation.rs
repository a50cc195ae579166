//! Revocations, as the group task runs them: it asks the application to give partitions up
//! (a [`GroupEvent::Revoke`] the application runs at its next `recv`/`poll`), and waits for
//! its answer while heartbeating, then commits what the answer says before the partitions go.
//!
//! At most one revocation is outstanding, and it survives interruptions: if the coordinator is
//! lost while the application has not answered yet, the main loop comes back to wait for the
//! same revocation (the application answers it exactly once, and its commit carries the real
//! positions). The answer is taken wherever it arrives: while waiting, or held back in
//! `deferred` during a heartbeat. A revocation ends without an answer only when its partitions
//! are lost (`lose_all`) or the consumer closes (the close commit covers them).

use std::time::Instant;

use super::coordinator::{GroupTask, Interrupt, Step};
use super::{Command, GroupEvent, Offsets};
use crate::record::TopicPartition;

/// The revocation the application has been asked for.
#[derive(Debug)]
pub(super) struct Revocation {
    pub id: u64,
    pub partitions: Vec<TopicPartition>,
}

impl GroupTask {
    /// Asks the application to give `partitions` up, and waits until it has (committing what
    /// it says), heartbeating meanwhile.
    pub(super) async fn revoke(&mut self, partitions: Vec<TopicPartition>) -> Step<()> {
        // One at a time: an earlier one still waiting is finished first.
        self.await_revocation().await?;
        let (held, never_handed_out): (Vec<_>, Vec<_>) = partitions
            .into_iter()
            .filter(|tp| self.owned.contains(tp))
            .partition(|tp| !self.pending_offsets.contains(tp));
        for tp in &never_handed_out {
            self.pending_offsets.remove(tp);
            self.owned.remove(tp);
        }
        if held.is_empty() {
            return Ok(());
        }
        if self.closing.is_some() {
            // The application is closing: its close commit covers these partitions, which
            // stay owned until it is made.
            return Err(Interrupt::Close);
        }
        let id = self.next_revoke_id();
        {
            let mut state = self.shared.state.lock();
            for tp in &held {
                if let Some(p) = state.partitions.get_mut(tp) {
                    // The fetcher stops fetching it; the application stops handing it out.
                    p.revoking = true;
                }
            }
        }
        tracing::debug!(group = %self.member.group, id, partitions = held.len(), "revoking");
        self.publish(GroupEvent::Revoke {
            id,
            partitions: held.clone(),
        });
        self.shared.wake_fetcher.notify_one();
        self.revocation = Some(Revocation {
            id,
            partitions: held,
        });
        self.await_revocation().await
    }

    /// Waits until the outstanding revocation (if any) is answered, heartbeating, serving
    /// commits and offset lookups, and giving up if the application stops polling for
    /// `max_poll_interval`.
    pub(super) async fn await_revocation(&mut self) -> Step<()> {
        loop {
            if self.revocation.is_none() {
                return Ok(());
            }
            // An answer that came during a heartbeat waits in `deferred`.
            if let Some(i) = self
                .deferred
                .iter()
                .position(|c| matches!(c, Command::Revoked { .. }))
            {
                if let Command::Revoked { id, commit } = self.deferred.remove(i) {
                    self.revoked(id, commit).await;
                }
                continue;
            }
            if self.closing.is_some() {
                return Err(Interrupt::Close);
            }
            let member = self.member.generation >= 0;
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => {
                        self.closing = Some((Vec::new(), None));
                        return Err(Interrupt::Close);
                    }
                    Some(Command::Close { commit, reply }) => {
                        self.closing = Some((commit, Some(reply)));
                        return Err(Interrupt::Close);
                    }
                    Some(command @ Command::Subscribe(_)) => self.deferred.push(command),
                    Some(command) => self.request(command).await,
                },
                () = tokio::time::sleep_until(self.next_heartbeat.into()), if member => {
                    if !self.app_is_live(Instant::now()) {
                        tracing::warn!(group = %self.member.group, "the application did not come back to give partitions up within max_poll_interval");
                        self.poll_expired = true;
                        self.leave("consumer poll timeout has expired").await;
                        return Err(Interrupt::Left);
                    }
                    self.heartbeat().await?;
                }
            }
        }
    }

    /// The application gave up revocation `id`'s partitions: commits what it said and forgets
    /// them. An answer to a revocation voided meanwhile (its partitions lost) is dropped.
    pub(super) async fn revoked(&mut self, id: u64, commit: Offsets) {
        let Some(revocation) = self.revocation.take_if(|r| r.id == id) else {
            tracing::debug!(group = %self.member.group, id, "answer to a voided revocation dropped");
            return;
        };
        // Committed while the partitions are still owned (the commit filter needs that).
        if let Err(e) = self.commit(commit, false).await {
            tracing::warn!(group = %self.member.group, error = %e, "commit of revoked partitions failed");
        }
        for tp in &revocation.partitions {
            self.owned.remove(tp);
            self.last_auto_commit.remove(tp);
        }
    }
}
