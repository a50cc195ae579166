//! The Krafka consumer.
//!
//! This crate will own the background fetcher, batched ListOffsets, KIP-227 fetch sessions and
//! consumer groups. It is a placeholder until that work lands.
