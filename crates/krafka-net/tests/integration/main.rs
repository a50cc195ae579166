//! Every integration test of `krafka-net`, in one binary: one link of tokio and the crate instead
//! of one per file (rustls' `tests/api.rs` layout).
//!
//! `scenarios` runs on an in-process krafka-mock by default and on the real broker when
//! `KRAFKA_BOOTSTRAP` is set: `cargo xtask test` runs it both ways (see
//! `krafka_mock::scenario`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod connection;
// The HTTP driver is the `oidc` feature; `cargo test --workspace` has it (the CLI enables it).
#[cfg(feature = "oidc")]
mod oidc;
mod pool;
mod sasl_properties;
mod scenarios;
mod security;
