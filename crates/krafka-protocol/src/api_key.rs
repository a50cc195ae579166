//! `ApiKey`: which request a frame carries, and what the schemas say about each API.
//!
//! A newtype over the wire's `int16` rather than a closed enum, so an unknown key read from the
//! network is still a value that can be logged and answered with an error. The named constants
//! and the per-API table are generated from the schemas (`generated/api_keys.rs`); what the
//! table says about a key is read in `api_info`.

/// A Kafka API key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiKey(pub i16);

/// What the schemas define for one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiInfo {
    /// The API's name, e.g. `Fetch`.
    pub name: &'static str,
    /// The versions the schemas define.
    pub versions: VersionRange,
    /// The first version whose request is flexible (compact encodings, tagged fields).
    pub request_flexible_from: Option<i16>,
    /// The first version whose response is flexible.
    pub response_flexible_from: Option<i16>,
}

/// An inclusive range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// The lowest version.
    pub min: i16,
    /// The highest version.
    pub max: i16,
}

impl VersionRange {
    /// A range from `min` to `max`, both included.
    pub const fn new(min: i16, max: i16) -> Self {
        Self { min, max }
    }

    /// Whether `version` lies in the range.
    #[inline]
    pub const fn contains(&self, version: i16) -> bool {
        version >= self.min && version <= self.max
    }

    /// The overlap of two ranges, if any.
    pub const fn intersect(&self, other: &Self) -> Option<Self> {
        let min = if self.min > other.min {
            self.min
        } else {
            other.min
        };
        let max = if self.max < other.max {
            self.max
        } else {
            other.max
        };
        if min <= max {
            Some(Self { min, max })
        } else {
            None
        }
    }

    /// The versions of the range, lowest first.
    pub fn iter(&self) -> std::ops::RangeInclusive<i16> {
        self.min..=self.max
    }
}
