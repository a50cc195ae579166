//! Tagged fields this crate does not know.
//!
//! A newer broker may send tagged fields that a schema revision added after ours. Kafka's rule is
//! to skip them; we keep them, so that decoding and re-encoding a message (a proxy, the mock
//! broker) loses nothing.

use bytes::Bytes;

/// A tagged field kept as its raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's encoded value (a slice of the received buffer).
    pub data: Bytes,
}
