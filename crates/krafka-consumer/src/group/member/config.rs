//! The settings the group member reads, taken from the consumer's.

use std::time::Duration;

use crate::config::{AssignorKind, ConsumerConfig, IsolationLevel};

/// The settings the member reads.
#[derive(Debug, Clone)]
pub(crate) struct MemberConfig {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub request_timeout: Duration,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    /// `None` with auto-commit off.
    pub auto_commit_interval: Option<Duration>,
    pub assignors: Vec<AssignorKind>,
    pub read_committed: bool,
}

impl MemberConfig {
    pub(crate) fn from_consumer(config: &ConsumerConfig) -> Self {
        Self {
            session_timeout: config.session_timeout,
            heartbeat_interval: config.heartbeat_interval,
            max_poll_interval: config.max_poll_interval,
            request_timeout: config.request_timeout,
            retry_backoff: config.retry_backoff,
            retry_backoff_max: config.retry_backoff_max,
            auto_commit_interval: config.auto_commit().then_some(config.auto_commit_interval),
            assignors: config.assignors.clone(),
            read_committed: config.isolation_level == IsolationLevel::ReadCommitted,
        }
    }

    /// Java: a JoinGroup may take the whole rebalance timeout, plus 5 s of slack.
    pub(crate) fn join_timeout(&self) -> Duration {
        self.request_timeout
            .max(self.max_poll_interval + Duration::from_secs(5))
    }

    /// Cooperative only when every configured assignor is (Java's rule: one eager assignor
    /// makes the member eager).
    pub(crate) fn cooperative(&self) -> bool {
        self.assignors
            .iter()
            .all(|a| *a == AssignorKind::CooperativeSticky)
    }
}
