//! Tagged fields this crate does not know.
//!
//! A newer broker may send tagged fields that a schema revision added after ours. Kafka's rule is
//! to skip them; we keep them, so that decoding and re-encoding a message (a proxy, the mock
//! broker) loses nothing. They are rare, so the common empty case costs one pointer-sized field
//! per struct and no work to drop: decoding a Fetch response moves and drops thousands of
//! structs, each with several of these.

use std::fmt;

use bytes::Bytes;

/// A tagged field kept as its raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's encoded value (a slice of the received buffer).
    pub data: Bytes,
}

/// The unknown tagged fields of one struct, in ascending tag order.
// The box is the point: one pointer instead of a Vec's three words in every struct. A boxed
// slice would be as thin but make each push a reallocation, quadratic for a hostile message
// with thousands of unknown tags.
#[allow(clippy::box_collection)]
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UnknownTaggedFields(Option<Box<Vec<RawTaggedField>>>);

impl UnknownTaggedFields {
    /// None.
    pub const fn new() -> Self {
        Self(None)
    }

    /// The fields, in order.
    pub fn as_slice(&self) -> &[RawTaggedField] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Appends a field; callers keep tags ascending, as the wire requires.
    pub fn push(&mut self, field: RawTaggedField) {
        self.0.get_or_insert_with(Box::default).push(field);
    }
}

impl From<Vec<RawTaggedField>> for UnknownTaggedFields {
    fn from(fields: Vec<RawTaggedField>) -> Self {
        if fields.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(fields)))
        }
    }
}

impl fmt::Debug for UnknownTaggedFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}
