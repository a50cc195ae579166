//! Broker connections for Krafka.
//!
//! This crate will own broker connections with high- and normal-priority lanes, multi-connection
//! bundles, the connection pool and the shared cluster metadata cache; it depends only on
//! `krafka-protocol`. Built so far, the pieces a connection task is driven by, all free of I/O:
//!
//! - [`config`]: [`ConnectionConfig`], validated, with the Java client's defaults;
//! - [`inflight`]: correlation ids, in-order matching, deadlines and draining on disconnect;
//! - [`backoff`]: reconnect delays, exponential with jitter.

pub mod backoff;
pub mod config;
pub mod inflight;

pub use backoff::Backoff;
pub use config::{ConfigError, ConnectionConfig, ConnectionConfigBuilder};
pub use inflight::{InFlight, Pending, UnexpectedCorrelation};
