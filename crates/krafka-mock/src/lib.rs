//! An in-process Kafka cluster for tests and benchmarks.
//!
//! This crate will own a mock cluster with fault injection, built only on `krafka-protocol`. It is
//! a placeholder until that work lands.
