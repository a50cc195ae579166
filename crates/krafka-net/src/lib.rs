//! Broker connections for Krafka: priority lanes, connection bundles, the connection pool and
//! the shared cluster metadata cache. Depends only on `krafka-protocol`.
//!
//! - [`config`]: [`ConnectionConfig`], validated, with the Java client's defaults;
//! - [`security`]: `security.protocol`, TLS settings and SASL mechanisms ([`SecurityConfig`]);
//! - [`transport`]: the byte stream (plain TCP or TLS through rustls) and [`handshake`]: what
//!   runs on a new connection before requests (ApiVersions, then SASL);
//! - [`connection`]: [`BrokerConnection`], one connection driven by a writer and a reader task;
//! - [`inflight`], [`backoff`], [`stats`]: the I/O-free parts a connection is driven by;
//! - [`bundle`]: [`BrokerConnectionBundle`], several connections to one broker;
//! - [`pool`]: [`ConnectionPool`], bundles by address and broker id, plus one coordination
//!   connection per broker for group traffic;
//! - [`metadata`]: [`ClusterMetadata`], the brokers, topics and leaders, refreshed on demand,
//!   on age and when a request reports a stale leader.
//!
//! Why both priority lanes and a coordination connection: see `docs/networking.md`.

pub mod backoff;
pub mod bundle;
pub mod config;
pub mod connection;
pub mod error;
pub mod handshake;
pub mod inflight;
pub mod metadata;
pub mod pool;
pub mod security;
pub mod stats;
pub mod transport;

pub use backoff::Backoff;
pub use bundle::BrokerConnectionBundle;
pub use config::{ConfigError, ConnectionConfig, ConnectionConfigBuilder};
pub use connection::{BrokerConnection, RequestPriority, Response, ResponseFuture};
pub use error::NetError;
pub use handshake::ApiVersions;
pub use inflight::{InFlight, Pending, UnexpectedCorrelation, deadline_after};
pub use metadata::{
    ClusterMetadata, MetadataConfig, MetadataSnapshot, PartitionLeader, is_stale_metadata,
};
pub use pool::ConnectionPool;
pub use security::{
    PemSource, SaslConfig, SaslMechanism, Secret, SecurityConfig, SecurityProtocol, TlsConfig,
};
pub use stats::{ConnectionStats, LatencyHistogram};
