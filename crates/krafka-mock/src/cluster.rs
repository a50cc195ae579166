//! `MockCluster`: starting and stopping a cluster of in-process brokers.
//!
//! Each broker listens on its own ephemeral `127.0.0.1` port (real TCP, so any client, ours or
//! not, can talk to it) and all of them share one [`ClusterState`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::handlers::BrokerContext;
use crate::state::{BrokerInfo, ClusterState};

/// Builds a [`MockCluster`].
#[derive(Debug, Clone)]
pub struct MockClusterBuilder {
    brokers: i32,
    topics: Vec<(String, i32)>,
    auto_create_topics: bool,
    default_partitions: i32,
    cluster_id: String,
    base_port: u16,
    fetch_session_slots: usize,
    tls: Option<crate::security::MockTls>,
    sasl: Option<crate::security::MockSasl>,
}

impl Default for MockClusterBuilder {
    fn default() -> Self {
        Self {
            brokers: 1,
            topics: Vec::new(),
            auto_create_topics: true,
            default_partitions: 1,
            cluster_id: "krafka-mock".into(),
            base_port: 0,
            fetch_session_slots: crate::state::DEFAULT_FETCH_SESSION_SLOTS,
            tls: None,
            sasl: None,
        }
    }
}

impl MockClusterBuilder {
    /// The number of brokers (node ids 1..=n); at least one.
    pub fn brokers(mut self, count: i32) -> Self {
        self.brokers = count.max(1);
        self
    }

    /// A topic to create at start.
    pub fn topic(mut self, name: impl Into<String>, partitions: i32) -> Self {
        self.topics.push((name.into(), partitions));
        self
    }

    /// Whether Metadata and Produce create unknown topics (Kafka's
    /// `auto.create.topics.enable`, on by default).
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.auto_create_topics = enabled;
        self
    }

    /// The partition count of auto-created topics (Kafka's `num.partitions`, 1 by default).
    pub fn default_partitions(mut self, partitions: i32) -> Self {
        self.default_partitions = partitions.max(1);
        self
    }

    /// Fetch sessions each broker keeps before evicting the least recently used (Kafka's
    /// `max.incremental.fetch.session.cache.slots`, 1000 by default; 0 disables sessions).
    pub fn fetch_session_slots(mut self, slots: usize) -> Self {
        self.fetch_session_slots = slots;
        self
    }

    /// Listen on fixed ports: broker `n` on `port + n - 1`. 0 (the default) picks free
    /// ephemeral ports.
    pub fn port(mut self, port: u16) -> Self {
        self.base_port = port;
        self
    }

    /// Serve TLS on every broker (security protocol SSL, or SASL_SSL with [`sasl`](Self::sasl)).
    pub fn tls(mut self, tls: crate::security::MockTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Require SASL authentication on every broker (SASL_PLAINTEXT, or SASL_SSL with
    /// [`tls`](Self::tls)).
    pub fn sasl(mut self, sasl: crate::security::MockSasl) -> Self {
        self.sasl = Some(sasl);
        self
    }

    /// Binds every broker and starts serving.
    ///
    /// Cancel-safe in the sense that dropping the future before it completes leaves nothing
    /// running: listeners bound so far are dropped with it.
    pub async fn start(self) -> std::io::Result<MockCluster> {
        let security =
            crate::security::ListenerSecurity::new(self.tls.as_ref(), self.sasl.as_ref())?;
        let state = Arc::new(ClusterState::new(
            self.cluster_id,
            self.auto_create_topics,
            self.default_partitions,
            self.fetch_session_slots,
        ));
        let mut listeners = Vec::new();
        for node_id in 1..=self.brokers {
            let port = if self.base_port == 0 {
                0
            } else {
                u16::try_from(i32::from(self.base_port) + node_id - 1).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "port out of range")
                })?
            };
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            let port = listener.local_addr()?.port();
            state.brokers.write().push(BrokerInfo {
                node_id,
                host: "127.0.0.1".into(),
                port,
                up: true,
            });
            listeners.push((node_id, listener));
        }
        for (name, partitions) in &self.topics {
            state.create_topic(name, *partitions).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("topic {name}: {e}"),
                )
            })?;
        }
        let mut brokers = Vec::new();
        let mut addrs = Vec::new();
        for (node_id, listener) in listeners {
            addrs.push(listener.local_addr()?);
            brokers.push(RunningBroker::spawn(
                listener,
                BrokerContext {
                    state: state.clone(),
                    node_id,
                    peer: None,
                    security: security.clone(),
                },
            ));
        }
        Ok(MockCluster {
            state,
            addrs,
            brokers,
        })
    }
}

/// One broker's serving task and the switch that stops it and its connections.
#[derive(Debug)]
struct RunningBroker {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    ctx: BrokerContext,
}

impl RunningBroker {
    fn spawn(listener: TcpListener, ctx: BrokerContext) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(crate::server::serve(listener, ctx.clone(), stopped));
        Self {
            stop,
            task: Some(task),
            ctx,
        }
    }

    /// Stops listening and closes its connections; waits until the listener is gone.
    async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A running mock cluster. Dropping it stops the brokers' listeners (without waiting);
/// [`MockCluster::shutdown`] stops and waits.
#[derive(Debug)]
pub struct MockCluster {
    state: Arc<ClusterState>,
    addrs: Vec<SocketAddr>,
    brokers: Vec<RunningBroker>,
}

impl MockCluster {
    /// A builder with one broker, auto-created topics of one partition.
    pub fn builder() -> MockClusterBuilder {
        MockClusterBuilder::default()
    }

    /// The brokers' addresses, comma-separated, as a client's `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Each broker's address, by node id order (node 1 first).
    pub fn broker_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The shared state, for inspection in tests.
    pub fn state(&self) -> &Arc<ClusterState> {
        &self.state
    }

    /// Installs a fault-injection hook for `api_key` (see [`crate::faults`]).
    pub fn on<F>(
        &self,
        api_key: krafka_protocol::ApiKey,
        times: crate::Times,
        decide: F,
    ) -> crate::HookId
    where
        F: Fn(&crate::RequestInfo<'_>) -> crate::Control + Send + Sync + 'static,
    {
        self.state.hooks.add(api_key, times, decide)
    }

    /// Removes a hook; `false` if it had already fired its last time.
    pub fn remove_hook(&self, id: crate::HookId) -> bool {
        self.state.hooks.remove(id)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<crate::state::RequestRecord> {
        self.state.requests.lock().clone()
    }

    /// Moves a partition's leadership to `node_id`, bumping its leader epoch (clients holding
    /// the old leader then get NOT_LEADER_OR_FOLLOWER). Returns the new epoch.
    pub fn move_leader(&self, topic: &str, partition: i32, node_id: i32) -> Option<i32> {
        let topic = self.state.topic(topic)?;
        let partition = topic.partitions.get(usize::try_from(partition).ok()?)?;
        Some(partition.move_leader(node_id))
    }

    /// The records stored in a partition, decoded, for assertions.
    pub fn records(&self, topic: &str, partition: i32) -> Vec<krafka_protocol::records::Record> {
        let Some(topic) = self.state.topic(topic) else {
            return Vec::new();
        };
        let Some(partition) = usize::try_from(partition)
            .ok()
            .and_then(|p| topic.partitions.get(p))
        else {
            return Vec::new();
        };
        let batches = partition.log.lock().read(0, usize::MAX).unwrap_or_default();
        batches
            .into_iter()
            .flat_map(|b| krafka_protocol::records::RecordSet::new(b).records())
            .filter_map(Result::ok)
            .collect()
    }

    /// Makes broker `node_id` serve `api_key` only up to `max_version`, as an older broker
    /// would: ApiVersions advertises the cap and a request above it closes the connection.
    /// A cap below the API's lowest version removes the API; `None` lifts the cap.
    pub fn restrict_versions(
        &self,
        node_id: i32,
        api_key: krafka_protocol::ApiKey,
        max_version: Option<i16>,
    ) {
        self.state.set_version_cap(node_id, api_key, max_version);
    }

    /// Throttles broker `node_id` as a broker enforcing a quota does (KIP-219): each response
    /// carries `throttle_time_ms` and the connection is muted for that long after it. 0 lifts it.
    pub fn throttle(&self, node_id: i32, ms: i32) {
        self.state.set_throttle(node_id, ms);
    }

    /// Makes `node_id` the coordinator of `group` (other brokers then answer NOT_COORDINATOR).
    pub fn set_coordinator(&self, group: &str, node_id: i32) {
        self.state.groups.pin(group, node_id);
    }

    /// The member ids of `group`.
    pub fn group_members(&self, group: &str) -> Vec<String> {
        self.state.memberships.members(group)
    }

    /// The offset `group` committed for a partition.
    pub fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Option<crate::groups::Committed> {
        self.state.groups.committed(group, topic, partition)
    }

    /// Evicts every fetch session on every broker, as a broker restart or cache pressure does;
    /// clients must then start over with a full fetch. Returns how many were evicted.
    pub fn evict_fetch_sessions(&self) -> usize {
        self.state.fetch_sessions.evict_all()
    }

    /// The number of fetch sessions open on broker `node_id`.
    pub fn fetch_sessions(&self, node_id: i32) -> usize {
        self.state.fetch_sessions.count(node_id)
    }

    /// Stops accepting and closes every connection, then waits for the listeners to finish.
    /// Cancel-safe: every stop signal is sent before the first `.await`.
    pub async fn shutdown(mut self) {
        for broker in &self.brokers {
            let _ = broker.stop.send(true);
        }
        for broker in &mut self.brokers {
            broker.stop().await;
        }
    }

    /// Takes broker `node_id` down: its port refuses connections, its open connections close,
    /// Metadata stops listing it, and partitions it leads report LEADER_NOT_AVAILABLE until it
    /// is back (or their leader is moved). Returns `false` for an unknown or already-down node.
    pub async fn broker_down(&mut self, node_id: i32) -> bool {
        let Some(broker) = self.broker_mut(node_id) else {
            return false;
        };
        if broker.task.is_none() {
            return false;
        }
        broker.stop().await;
        self.state.set_broker_up(node_id, false);
        true
    }

    /// Brings broker `node_id` back on its old port. Returns `false` for an unknown node or
    /// one that is already up.
    pub async fn broker_up(&mut self, node_id: i32) -> std::io::Result<bool> {
        let Some(addr) = usize::try_from(node_id - 1)
            .ok()
            .and_then(|i| self.addrs.get(i).copied())
        else {
            return Ok(false);
        };
        let Some(broker) = self.broker_mut(node_id) else {
            return Ok(false);
        };
        if broker.task.is_some() {
            return Ok(false);
        }
        let listener = TcpListener::bind(addr).await?;
        *broker = RunningBroker::spawn(listener, broker.ctx.clone());
        self.state.set_broker_up(node_id, true);
        Ok(true)
    }

    fn broker_mut(&mut self, node_id: i32) -> Option<&mut RunningBroker> {
        self.brokers.iter_mut().find(|b| b.ctx.node_id == node_id)
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        for broker in &self.brokers {
            let _ = broker.stop.send(true);
        }
    }
}
