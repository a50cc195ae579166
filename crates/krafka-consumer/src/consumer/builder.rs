//! [`ConsumerBuilder`]: the settings (Java's names and defaults, checked by
//! [`ConsumerConfig::validate`]) and the start of a [`Consumer`] with its background tasks.

use std::sync::Arc;

use krafka_net::{ClusterMetadata, ConnectionPool, MetadataConfig};
use krafka_protocol::records::DecodeOptions;

use tokio::sync::mpsc;

use super::handle::Consumer;
use super::handle::GroupLink;
use crate::config::{AssignorKind, ConsumerConfig, IsolationLevel, OffsetReset};
use crate::error::ConsumeError;
use crate::fetcher::Fetcher;
use crate::group::coordinator::GroupTask;
use crate::state::Shared;

/// Configures and starts a [`Consumer`].
#[derive(Debug, Clone, Default)]
pub struct ConsumerBuilder {
    config: ConsumerConfig,
    bootstrap: Option<String>,
    connection: krafka_net::ConnectionConfigBuilder,
    metadata_max_age: Option<std::time::Duration>,
}

impl ConsumerBuilder {
    /// Java's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The brokers to bootstrap from, comma-separated `host:port` (Java's
    /// `bootstrap.servers`). Needed by [`connect`](Self::connect).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap = Some(servers.into());
        self
    }

    /// The connection settings [`connect`](Self::connect) starts from: security (TLS, SASL),
    /// socket buffers, reconnect backoff, idle and connect timeouts. Client id, request
    /// timeout and in-flight limit are this builder's own and override them.
    pub fn connection(mut self, connection: krafka_net::ConnectionConfigBuilder) -> Self {
        self.connection = connection;
        self
    }

    /// TLS and SASL for [`connect`](Self::connect) (Java's `security.protocol`, `ssl.*`,
    /// `sasl.*`).
    pub fn security(mut self, security: krafka_net::SecurityConfig) -> Self {
        self.connection = self.connection.security(security);
        self
    }

    /// Java's `metadata.max.age.ms` for [`connect`](Self::connect) (5 minutes).
    pub fn metadata_max_age(mut self, age: std::time::Duration) -> Self {
        self.metadata_max_age = Some(age);
        self
    }

    krafka_net::config_setters! {
        /// Java's `fetch.min.bytes` (1).
        fetch_min_bytes: i32,
        /// Java's `fetch.max.bytes` (50 MiB).
        fetch_max_bytes: i32,
        /// Java's `max.partition.fetch.bytes` (1 MiB).
        max_partition_fetch_bytes: i32,
        /// Java's `fetch.max.wait.ms` (500 ms).
        fetch_max_wait: std::time::Duration,
        /// Java's `auto.offset.reset` (latest).
        auto_offset_reset: OffsetReset,
        /// Java's `enable.auto.commit` (true; only with a group).
        enable_auto_commit: bool,
        /// Java's `auto.commit.interval.ms` (5 s).
        auto_commit_interval: std::time::Duration,
        /// Java's `isolation.level` (read_uncommitted).
        isolation_level: IsolationLevel,
        /// Java's `session.timeout.ms` (45 s).
        session_timeout: std::time::Duration,
        /// Java's `heartbeat.interval.ms` (3 s).
        heartbeat_interval: std::time::Duration,
        /// Java's `max.poll.interval.ms` (5 min).
        max_poll_interval: std::time::Duration,
        /// Java's `check.crcs` (true).
        check_crcs: bool,
        /// Java's `allow.auto.create.topics` (true); see
        /// [`ConsumerConfig::allow_auto_create_topics`].
        allow_auto_create_topics: bool,
        /// The prefetch budget in bytes (64 MiB): see [`ConsumerConfig::max_buffered_bytes`].
        max_buffered_bytes: usize,
        /// Java's `max.poll.records` (500): the limit of [`Consumer::poll_default`].
        max_poll_records: usize,
        /// Java's `request.timeout.ms` (30 s).
        request_timeout: std::time::Duration,
        /// Java's `retry.backoff.ms` (100 ms).
        retry_backoff: std::time::Duration,
        /// Java's `retry.backoff.max.ms` (1 s).
        retry_backoff_max: std::time::Duration,
    }

    /// Java's `group.id`. Without one, only manual assignment works.
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.config.group_id = Some(group.into());
        self
    }

    /// Java's `group.instance.id`: static membership.
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.group_instance_id = Some(id.into());
        self
    }

    /// Java's `partition.assignment.strategy`, in order of preference.
    pub fn assignors(mut self, assignors: impl IntoIterator<Item = AssignorKind>) -> Self {
        self.config.assignors = assignors.into_iter().collect();
        self
    }

    /// Java's `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// The settings so far.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Validates the settings, connects to the bootstrap brokers and starts the fetcher.
    ///
    /// Cancel-safe: dropping the future before it completes leaves nothing running.
    pub async fn connect(self) -> Result<Consumer, ConsumeError> {
        self.config.validate()?;
        let bootstrap = self.bootstrap.clone().ok_or_else(|| {
            ConsumeError::Config(crate::ConsumerConfigError {
                setting: "bootstrap_servers",
                reason: "needed to connect".to_owned(),
            })
        })?;
        let connection = self
            .connection
            .clone()
            .client_id(self.config.client_id.clone())
            .request_timeout(self.config.request_timeout)
            .build()
            .map_err(|e| {
                ConsumeError::Config(crate::ConsumerConfigError {
                    setting: "connection",
                    reason: e.to_string(),
                })
            })?;
        let pool = ConnectionPool::new(connection);
        let mut metadata_config = MetadataConfig::new(bootstrap.split(','));
        metadata_config.allow_auto_topic_creation = self.config.allow_auto_create_topics;
        if let Some(age) = self.metadata_max_age {
            metadata_config.max_age = age;
        }
        let metadata = ClusterMetadata::connect(pool, metadata_config).await?;
        self.build_on(metadata)
    }

    /// Starts a consumer on an existing metadata cache and connection pool (shared with
    /// producers and other consumers). Must be called inside a Tokio runtime. With a
    /// `group_id` the group task starts too; it dials the group coordinator on a connection of
    /// its own (see `group`).
    pub fn build_on(self, metadata: ClusterMetadata) -> Result<Consumer, ConsumeError> {
        self.config.validate()?;
        let config = Arc::new(self.config);
        let shared = Arc::new(Shared::default());
        let fetcher = Fetcher::new(Arc::clone(&shared), metadata.clone(), Arc::clone(&config));
        let task = tokio::spawn(fetcher.run());
        let decode = DecodeOptions {
            verify_crc: config.check_crcs,
            ..DecodeOptions::default()
        };
        let group = config.group_id.clone().map(|group| {
            let (commands, rx) = mpsc::unbounded_channel();
            let task = GroupTask::new(
                Arc::clone(&shared),
                metadata.clone(),
                Arc::clone(&config),
                group,
                rx,
            );
            GroupLink {
                commands,
                task: Some(tokio::spawn(task.run())),
                listener: None,
                seen_changes: 0,
                subscribed: false,
            }
        });
        Ok(Consumer {
            shared,
            config,
            metadata,
            fetcher: Some(task),
            drain: None,
            decode,
            group,
            polls: 0,
            processed: None,
        })
    }
}
