//! Broker connections for Krafka.
//!
//! This crate will own broker connections with high- and normal-priority lanes, multi-connection
//! bundles, the connection pool and the shared cluster metadata cache. It is a placeholder until
//! that work lands (see the project's issue tracker); it depends only on `krafka-protocol`.
