//! Consumer settings: [`ConsumerConfig`] with the Java client's defaults, and the validation
//! that rejects settings which contradict each other (Java's `ConsumerConfig` and
//! `GroupRebalanceConfig` checks, plus the prefetch budget this crate adds).

use std::fmt;
use std::time::Duration;

/// Where a partition without a usable position starts (Java's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetReset {
    /// The oldest record still in the log.
    Earliest,
    /// The end of the log: only records produced from now on (Java's default).
    Latest,
    /// No automatic start: the partition reports an error until the application seeks.
    None,
}

/// Which records a fetch may return (Java's `isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// Everything up to the high watermark, aborted transactions included (Java's default).
    ReadUncommitted,
    /// Only records of committed transactions, up to the last stable offset.
    ReadCommitted,
}

impl IsolationLevel {
    /// The value sent in Fetch and ListOffsets requests.
    pub fn wire_value(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// A partition assignment strategy for consumer groups (Java's `partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignorKind {
    /// Consecutive ranges of each topic's partitions (Java's `RangeAssignor`).
    Range,
    /// Partitions dealt out one by one across members (Java's `RoundRobinAssignor`).
    RoundRobin,
    /// Sticky and incremental: only moved partitions stop consuming during a rebalance (Java's
    /// `CooperativeStickyAssignor`).
    CooperativeSticky,
}

impl AssignorKind {
    /// The protocol name members advertise in JoinGroup.
    pub fn protocol_name(self) -> &'static str {
        match self {
            AssignorKind::Range => "range",
            AssignorKind::RoundRobin => "roundrobin",
            AssignorKind::CooperativeSticky => "cooperative-sticky",
        }
    }
}

/// Every consumer setting. Build one through [`ConsumerBuilder`](crate::ConsumerBuilder); the
/// fields are public so that tools can print what a consumer runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    /// The least data a fetch waits for (Java's `fetch.min.bytes`, 1).
    pub fetch_min_bytes: i32,
    /// The most data one fetch response may carry (Java's `fetch.max.bytes`, 50 MiB).
    pub fetch_max_bytes: i32,
    /// The most data one partition contributes to a fetch (Java's
    /// `max.partition.fetch.bytes`, 1 MiB). A first batch larger than this is still returned
    /// whole, so a consumer never gets stuck on it.
    pub max_partition_fetch_bytes: i32,
    /// How long the broker may hold a fetch waiting for `fetch_min_bytes` (Java's
    /// `fetch.max.wait.ms`, 500 ms).
    pub fetch_max_wait: Duration,
    /// The consumer group; `None` for manual assignment only (Java's `group.id`).
    pub group_id: Option<String>,
    /// Where a partition without a position starts (Java's `auto.offset.reset`, latest).
    pub auto_offset_reset: OffsetReset,
    /// Whether consumed offsets are committed in the background (Java's
    /// `enable.auto.commit`, true with a group).
    pub enable_auto_commit: bool,
    /// How often auto-commit commits (Java's `auto.commit.interval.ms`, 5 s).
    pub auto_commit_interval: Duration,
    /// Which records fetches return (Java's `isolation.level`, read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// How long the coordinator waits for a heartbeat before evicting the member (Java's
    /// `session.timeout.ms`, 45 s).
    pub session_timeout: Duration,
    /// How often the member heartbeats (Java's `heartbeat.interval.ms`, 3 s).
    pub heartbeat_interval: Duration,
    /// The longest the application may go between polls before the member leaves the group
    /// (Java's `max.poll.interval.ms`, 5 min).
    pub max_poll_interval: Duration,
    /// Assignment strategies in order of preference (Java's default: range, then
    /// cooperative-sticky).
    pub assignors: Vec<AssignorKind>,
    /// A static member id, which survives restarts without a rebalance (Java's
    /// `group.instance.id`).
    pub group_instance_id: Option<String>,
    /// Whether each batch's checksum is verified (Java's `check.crcs`, true).
    pub check_crcs: bool,
    /// Whether asking the brokers about a subscribed or assigned topic that does not exist
    /// creates it, where the broker allows it (Java's `allow.auto.create.topics`, true). A
    /// consumer built on a shared metadata cache (`build_on`, the `krafka` handle) follows
    /// the cache's setting instead.
    pub allow_auto_create_topics: bool,
    /// The prefetch budget: bytes of fetched records waiting for the application. A partition
    /// over its share is not fetched until the application drains it (librdkafka's
    /// `queued.max.messages.kbytes`, 64 MiB; Java bounds this only by `fetch.max.bytes`).
    pub max_buffered_bytes: usize,
    /// Records `poll` returns at most when no limit is given (Java's `max.poll.records`, 500).
    pub max_poll_records: usize,
    /// How long a request waits for its response (Java's `request.timeout.ms`, 30 s).
    pub request_timeout: Duration,
    /// The first wait before a failed request is retried (Java's `retry.backoff.ms`, 100 ms).
    pub retry_backoff: Duration,
    /// The longest wait between retries (Java's `retry.backoff.max.ms`, 1 s). Offset lookups
    /// back off from 100 ms to 30 s instead.
    pub retry_backoff_max: Duration,
    /// The client id sent with every request (Java's `client.id`).
    pub client_id: String,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            fetch_min_bytes: 1,
            fetch_max_bytes: 50 * 1024 * 1024,
            max_partition_fetch_bytes: 1024 * 1024,
            fetch_max_wait: Duration::from_millis(500),
            group_id: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            isolation_level: IsolationLevel::ReadUncommitted,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            assignors: vec![AssignorKind::Range, AssignorKind::CooperativeSticky],
            group_instance_id: None,
            check_crcs: true,
            allow_auto_create_topics: true,
            max_buffered_bytes: 64 * 1024 * 1024,
            max_poll_records: 500,
            request_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            client_id: "krafka-consumer".to_owned(),
        }
    }
}

/// A setting that cannot work, alone or with another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfigError {
    /// The setting (or settings) at fault.
    pub setting: &'static str,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ConsumerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid consumer setting {}: {}",
            self.setting, self.reason
        )
    }
}

impl std::error::Error for ConsumerConfigError {}

fn refuse(setting: &'static str, reason: impl Into<String>) -> Result<(), ConsumerConfigError> {
    Err(ConsumerConfigError {
        setting,
        reason: reason.into(),
    })
}

impl ConsumerConfig {
    /// Whether offsets are committed in the background: asked for, and there is a group to
    /// commit to.
    pub fn auto_commit(&self) -> bool {
        self.enable_auto_commit && self.group_id.is_some()
    }

    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), ConsumerConfigError> {
        if self.fetch_min_bytes < 0 {
            return refuse("fetch_min_bytes", "must not be negative");
        }
        if self.fetch_max_bytes <= 0 {
            return refuse("fetch_max_bytes", "must be positive");
        }
        if self.max_partition_fetch_bytes <= 0 {
            return refuse("max_partition_fetch_bytes", "must be positive");
        }
        if i32::try_from(self.fetch_max_wait.as_millis()).is_err() {
            return refuse(
                "fetch_max_wait",
                "does not fit the protocol's i32 milliseconds",
            );
        }
        if self.max_buffered_bytes == 0 {
            return refuse("max_buffered_bytes", "must be positive");
        }
        if self.max_poll_records == 0 {
            return refuse("max_poll_records", "must be at least 1");
        }
        if self.group_id.as_deref() == Some("") {
            return refuse("group_id", "must not be empty; leave it unset for no group");
        }
        if self.group_id.is_none() && self.group_instance_id.is_some() {
            return refuse("group_instance_id", "static membership needs a group_id");
        }
        if self.heartbeat_interval >= self.session_timeout {
            return refuse(
                "heartbeat_interval / session_timeout",
                format!(
                    "heartbeat_interval ({:?}) must be below session_timeout ({:?}), or the \
                     coordinator evicts the member between heartbeats",
                    self.heartbeat_interval, self.session_timeout
                ),
            );
        }
        if self.assignors.is_empty() {
            return refuse("assignors", "needs at least one assignment strategy");
        }
        if self.retry_backoff > self.retry_backoff_max {
            return refuse(
                "retry_backoff / retry_backoff_max",
                "the first backoff exceeds the largest",
            );
        }
        if self.enable_auto_commit && self.auto_commit_interval.is_zero() {
            return refuse(
                "auto_commit_interval",
                "must be positive with auto-commit on",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_defaults_validate() {
        let config = ConsumerConfig::default();
        config.validate().unwrap();
        assert_eq!(config.fetch_max_bytes, 52_428_800);
        assert_eq!(config.max_partition_fetch_bytes, 1_048_576);
        assert_eq!(config.fetch_max_wait, Duration::from_millis(500));
        assert_eq!(config.auto_offset_reset, OffsetReset::Latest);
        assert_eq!(config.session_timeout, Duration::from_secs(45));
        assert_eq!(
            config.assignors,
            [AssignorKind::Range, AssignorKind::CooperativeSticky]
        );
        // Auto-commit needs a group to commit to.
        assert!(!config.auto_commit());
    }

    #[test]
    fn contradictions_are_refused_naming_the_setting() {
        let bad = |change: fn(&mut ConsumerConfig)| {
            let mut config = ConsumerConfig::default();
            change(&mut config);
            config.validate().unwrap_err().setting
        };
        assert_eq!(
            bad(|c| c.heartbeat_interval = c.session_timeout),
            "heartbeat_interval / session_timeout"
        );
        assert_eq!(
            bad(|c| c.group_instance_id = Some("a".into())),
            "group_instance_id"
        );
        assert_eq!(bad(|c| c.group_id = Some(String::new())), "group_id");
        assert_eq!(bad(|c| c.max_buffered_bytes = 0), "max_buffered_bytes");
        assert_eq!(bad(|c| c.assignors.clear()), "assignors");
        assert_eq!(bad(|c| c.fetch_max_bytes = 0), "fetch_max_bytes");
        assert_eq!(
            bad(|c| c.fetch_max_wait = Duration::from_secs(1 << 40)),
            "fetch_max_wait"
        );
    }
}
