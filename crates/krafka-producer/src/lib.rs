//! The Krafka producer.
//!
//! This crate will own producer records, partitioners, the accumulator with memory backpressure,
//! the sender and idempotence. It is a placeholder until that work lands.
