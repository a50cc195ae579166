//! Krafka: a pure-Rust, async Apache Kafka client.
//!
//! This is the facade most users add. Today it re-exports the wire protocol crate; the producer,
//! consumer and a single client handle arrive with later work.

pub use krafka_protocol as protocol;
