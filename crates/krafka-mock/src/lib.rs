//! An in-process Kafka cluster for tests and benchmarks.
//!
//! [`MockCluster::builder`] starts brokers on ephemeral `127.0.0.1` ports that speak the real
//! wire protocol, so any client can use them. Built only on `krafka-protocol`: the mock never
//! shares client code with the clients it tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = krafka_mock::MockCluster::builder().brokers(3).topic("orders", 8).start().await?;
//! println!("bootstrap.servers={}", cluster.bootstrap());
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Layout: [`cluster`] starts and stops brokers; `server` runs each broker's connections;
//! `handlers` holds one module per API; [`state`] and [`log`] hold topics and partition logs.
//!
//! Served today: ApiVersions, Metadata, CreateTopics, InitProducerId, Produce (with idempotent
//! sequence checks), Fetch (with KIP-227 sessions), ListOffsets, FindCoordinator, OffsetCommit,
//! OffsetFetch, the classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
//! ListGroups, DescribeGroups, DeleteTopics, CreatePartitions and DescribeConfigs. Faults
//! are injected per API with [`MockCluster::on`] (see [`faults`]); partitions' leaders move
//! with [`MockCluster::move_leader`]; brokers go down and up ([`MockCluster::broker_down`]);
//! every request is logged ([`MockCluster::requests`]). [`ScenarioCluster`] runs one test
//! against the mock or, when `KRAFKA_BOOTSTRAP` is set, a real broker. Listeners can be secured as Kafka's are
//! ([`security`]): TLS with run-time certificates ([`TestPki`]), SASL PLAIN, SCRAM-SHA-256/512
//! and OAUTHBEARER with users per cluster, session lifetimes for re-authentication.
//! Transactions are not served (see the project's issue tracker).

pub mod cluster;
pub mod faults;
pub mod groups;
mod handlers;
pub mod log;
pub mod membership;
pub mod producers;
pub mod scenario;
pub mod security;
mod server;
pub mod sessions;
pub mod state;

pub use cluster::{MockCluster, MockClusterBuilder};
pub use faults::{Control, HookId, RequestInfo, Times};
pub use handlers::SUPPORTED as SUPPORTED_APIS;
pub use scenario::ScenarioCluster;
pub use security::{MockSasl, MockTls, SaslMechanismName, TestPki};

/// `docs/testing.md`, compiled as a doc test so its examples stay true to the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/testing.md")]
mod testing_doc {}
