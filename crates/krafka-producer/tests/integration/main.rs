//! Every integration test of `krafka-producer`, in one binary: one link of tokio and the crate instead
//! of one per file (rustls' `tests/api.rs` layout).
//!
//! `scenarios` runs on an in-process krafka-mock by default and on the real broker when
//! `KRAFKA_BOOTSTRAP` is set: `cargo xtask test` runs it both ways (see
//! `krafka_mock::scenario`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bundles;
mod common;
mod faults;
mod memory;
mod produce;
mod scenarios;
