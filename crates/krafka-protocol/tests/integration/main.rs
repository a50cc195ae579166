//! Every integration test of `krafka-protocol`, in one binary: one link of tokio and the crate instead
//! of one per file (rustls' `tests/api.rs` layout).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cross_kafka_protocol;
mod golden;
mod hostile_input;
mod records_cross;
