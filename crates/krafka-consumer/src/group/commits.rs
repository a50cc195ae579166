//! Commits and committed-offset lookups on the coordinator connection, with the retries
//! Java's coordinator makes: a moved or unavailable coordinator is found again, a loading one is
//! waited for, and a member that fell out of the group is told so (it rejoins).

use std::collections::HashMap;

use krafka_net::NetError;
use krafka_protocol::ErrorCode;

use super::Offsets;
use super::coordinator::{GroupTask, short_timeout};
use super::requests;
use crate::error::ConsumeError;
use crate::record::TopicPartition;

impl GroupTask {
    /// Commits `offsets` of owned partitions only, when subscribed: a partition revoked
    /// meanwhile belongs to another member now. The others are not sent; a commit the
    /// application asked for then fails with [`ConsumeError::NotAssigned`] (after committing
    /// the owned ones), as Java's fails with `CommitFailedException`. Auto-commits skip
    /// unchanged offsets.
    pub(super) async fn commit(
        &mut self,
        mut offsets: Offsets,
        auto: bool,
    ) -> Result<(), ConsumeError> {
        let mut not_owned = None;
        if !self.subscription.is_empty() || self.member.generation >= 0 {
            offsets.retain(|(tp, _)| {
                let owned = self.owned.contains(tp);
                if !owned && not_owned.is_none() {
                    not_owned = Some(tp.clone());
                }
                owned
            });
        }
        if auto {
            offsets.retain(|(tp, o)| self.last_auto_commit.get(tp) != Some(o));
            not_owned = None;
        }
        let refused = not_owned.map(ConsumeError::NotAssigned);
        if offsets.is_empty() {
            return refused.map_or(Ok(()), Err);
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.commit_once(&offsets).await {
                Ok(()) => {
                    tracing::debug!(group = %self.member.group, member = %self.member.member_id, generation = self.member.generation, ?offsets, auto, "committed");
                    for (tp, o) in &offsets {
                        self.last_auto_commit.insert(tp.clone(), *o);
                    }
                    self.shared.metrics.committed(offsets.len() as u64);
                    return refused.map_or(Ok(()), Err);
                }
                Err(CommitFailure::Retry(code)) if attempts < 3 => {
                    tracing::debug!(group = %self.member.group, %code, "commit failed; retrying");
                    tokio::time::sleep(self.config.retry_backoff).await;
                }
                Err(CommitFailure::Retry(code) | CommitFailure::Final(code)) => {
                    self.shared.metrics.commit_failed();
                    return Err(ConsumeError::Group(code));
                }
                Err(CommitFailure::Network(e)) => {
                    self.shared.metrics.commit_failed();
                    return Err(ConsumeError::Network(e));
                }
            }
        }
    }

    async fn commit_once(&mut self, offsets: &Offsets) -> Result<(), CommitFailure> {
        if self.coordinator.is_none() {
            let _ = self.discover().await;
        }
        let Ok(conn) = self.conn() else {
            return Err(CommitFailure::Retry(ErrorCode::COORDINATOR_NOT_AVAILABLE));
        };
        let result = tokio::time::timeout(
            short_timeout(&self.config),
            requests::commit(&conn, &self.member, offsets),
        )
        .await;
        let codes = match result {
            Ok(Ok(codes)) => codes,
            Ok(Err(e)) => {
                self.drop_coordinator();
                return Err(if e.is_retriable() {
                    CommitFailure::Retry(ErrorCode::NETWORK_EXCEPTION)
                } else {
                    CommitFailure::Network(e)
                });
            }
            Err(_) => {
                self.drop_coordinator();
                return Err(CommitFailure::Retry(ErrorCode::REQUEST_TIMED_OUT));
            }
        };
        let Some(code) = codes
            .iter()
            .map(|(_, c)| *c)
            .find(|c| *c != ErrorCode::NONE)
        else {
            return Ok(());
        };
        match code {
            ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
                self.drop_coordinator();
                Err(CommitFailure::Retry(code))
            }
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::REQUEST_TIMED_OUT => {
                Err(CommitFailure::Retry(code))
            }
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                // The member is gone; the next heartbeat finds out and rejoins.
                self.rejoin = true;
                Err(CommitFailure::Final(code))
            }
            code => Err(CommitFailure::Final(code)),
        }
    }

    /// Looks up committed offsets, finding the coordinator first if needed.
    pub(super) async fn committed(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<i64>>, ConsumeError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            if self.coordinator.is_none() {
                let _ = self.discover().await;
            }
            let code = match self.conn() {
                Err(_) => ErrorCode::COORDINATOR_NOT_AVAILABLE,
                Ok(conn) => {
                    let stable =
                        self.config.isolation_level == crate::config::IsolationLevel::ReadCommitted;
                    let fetched = tokio::time::timeout(
                        short_timeout(&self.config),
                        requests::fetch_committed(&conn, &self.member, partitions, stable),
                    )
                    .await;
                    match fetched {
                        Ok(Ok(Ok(found))) => return Ok(found),
                        Ok(Ok(Err(code))) => code,
                        Ok(Err(e)) if !e.is_retriable() => return Err(ConsumeError::Network(e)),
                        Ok(Err(_)) | Err(_) => {
                            self.drop_coordinator();
                            ErrorCode::NETWORK_EXCEPTION
                        }
                    }
                }
            };
            if matches!(
                code,
                ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE
            ) {
                self.drop_coordinator();
            }
            if !code.is_retriable() && code != ErrorCode::NETWORK_EXCEPTION || attempts >= 5 {
                return Err(ConsumeError::Group(code));
            }
            tokio::time::sleep(self.config.retry_backoff).await;
        }
    }
}

enum CommitFailure {
    Retry(ErrorCode),
    Final(ErrorCode),
    Network(NetError),
}
