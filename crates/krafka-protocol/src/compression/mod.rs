//! Kafka's compression codecs and the registry that picks one per batch.
//!
//! A record batch names its codec in three attribute bits; this module owns the mapping from
//! those ids to [`Compression`], the [`CompressionCodec`] extension point, the built-in codecs
//! (gzip, snappy, lz4, and zstd with the default `zstd` feature), and the [`Codecs`] registry
//! producers and consumers share.
//!
//! Decompression always runs on data from the network, so every codec takes a bound on the
//! output and fails with [`DecodeError::DecompressedTooLarge`] before it allocates past it: a
//! few kilobytes of hostile input must never become gigabytes of memory.

mod codec;
mod gzip;
mod lz4;
#[cfg(any(test, not(feature = "zstd")))]
mod not_built;
mod snappy;
#[cfg(feature = "zstd")]
mod zstd;

use std::fmt;

use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use bytes::{Bytes, BytesMut};

pub use self::codec::CompressionCodec;
pub use self::gzip::GzipCodec;
pub use self::lz4::Lz4Codec;
pub(crate) use self::lz4::fix_legacy_header_checksum;
pub use self::snappy::SnappyCodec;
#[cfg(feature = "zstd")]
pub use self::zstd::ZstdCodec;
use crate::{DecodeError, EncodeError};

/// The default bound on the size of one decompressed records section.
///
/// Kafka's own consumer has no bound at all, so the limit must sit well above anything a
/// legitimate producer sends: topics commonly raise `max.message.bytes` to 10–20 MiB, and a
/// compressed batch of that size still has to expand a few times over. 64 MiB leaves that
/// head-room while keeping a compression bomb to a bounded, survivable allocation.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: usize = 64 * 1024 * 1024;

/// A compression codec as Kafka names it in record batch attributes (bits 0–2) and in the
/// `compression.type` configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (id 0).
    #[default]
    None,
    /// gzip (id 1).
    Gzip,
    /// Snappy (id 2), framed as Java's snappy-java writes it.
    Snappy,
    /// LZ4 (id 3), in the standard LZ4 frame format.
    Lz4,
    /// Zstandard (id 4); record batches of magic 2 only.
    Zstd,
}

impl Compression {
    /// Every codec, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec with the given attribute id, or `None` for ids Kafka does not define.
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::None),
            1 => Some(Self::Gzip),
            2 => Some(Self::Snappy),
            3 => Some(Self::Lz4),
            4 => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The attribute id (0–4).
    pub const fn id(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
        }
    }

    /// The name Kafka's `compression.type` uses.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// The index of this codec in the registry table; `None` has no codec.
    const fn slot(self) -> Option<usize> {
        match self {
            Self::None => None,
            Self::Gzip => Some(0),
            Self::Snappy => Some(1),
            Self::Lz4 => Some(2),
            Self::Zstd => Some(3),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Compression`] from a name Kafka does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseCompressionError;

impl fmt::Display for ParseCompressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown compression type (expected none, gzip, snappy, lz4 or zstd)")
    }
}

impl std::error::Error for ParseCompressionError {}

impl FromStr for Compression {
    type Err = ParseCompressionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or(ParseCompressionError)
    }
}

/// The codec used for each [`Compression`], shared by producers and consumers.
///
/// Cloning is cheap (one reference count); [`Codecs::default`] holds the built-ins.
#[derive(Clone)]
pub struct Codecs {
    table: Arc<[Arc<dyn CompressionCodec>; 4]>,
}

static BUILTIN: LazyLock<Codecs> = LazyLock::new(|| Codecs {
    table: Arc::new([
        Arc::new(GzipCodec),
        Arc::new(SnappyCodec),
        Arc::new(Lz4Codec),
        #[cfg(feature = "zstd")]
        Arc::new(ZstdCodec),
        // Without the feature (no C compiler needed), a zstd batch is a clear error.
        #[cfg(not(feature = "zstd"))]
        Arc::new(not_built::NotBuilt {
            codec: "zstd",
            feature: "zstd",
        }),
    ]),
});

impl Default for Codecs {
    fn default() -> Self {
        BUILTIN.clone()
    }
}

impl fmt::Debug for Codecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                Compression::ALL
                    .into_iter()
                    .filter_map(|c| self.get(c).map(|codec| (c.name(), codec))),
            )
            .finish()
    }
}

impl Codecs {
    /// Returns a registry that uses `codec` for `compression` and the current codecs for the
    /// rest. [`Compression::None`] has no codec, so overriding it changes nothing.
    #[must_use]
    pub fn with(self, compression: Compression, codec: Arc<dyn CompressionCodec>) -> Self {
        let Some(slot) = compression.slot() else {
            return self;
        };
        let mut table = (*self.table).clone();
        table[slot] = codec;
        Self {
            table: Arc::new(table),
        }
    }

    /// The codec for `compression`; `None` for [`Compression::None`].
    pub fn get(&self, compression: Compression) -> Option<&Arc<dyn CompressionCodec>> {
        compression.slot().map(|slot| &self.table[slot])
    }

    /// Compresses `input` with `compression`, appending to `out` (a plain copy for
    /// [`Compression::None`]).
    pub fn compress(
        &self,
        compression: Compression,
        input: &[u8],
        level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self.get(compression) {
            Some(codec) => codec.compress(input, level, out),
            None => {
                out.extend_from_slice(input);
                Ok(())
            }
        }
    }

    /// Decompresses `input` with `compression`, bounded by `max_output` bytes. For
    /// [`Compression::None`] the input itself is returned, without a copy.
    pub fn decompress(
        &self,
        compression: Compression,
        input: &Bytes,
        max_output: usize,
    ) -> Result<Bytes, DecodeError> {
        match self.get(compression) {
            Some(codec) => {
                let out = codec.decompress(input, max_output)?;
                // A user codec may not honour the bound; the caller's memory budget relies on it.
                if out.len() > max_output {
                    return Err(DecodeError::DecompressedTooLarge { max: max_output });
                }
                Ok(out)
            }
            None if input.len() > max_output => {
                Err(DecodeError::DecompressedTooLarge { max: max_output })
            }
            None => Ok(input.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::codec::sample;
    use super::*;

    #[test]
    fn ids_and_names() {
        for c in Compression::ALL {
            assert_eq!(Compression::from_id(c.id()), Some(c));
            assert_eq!(c.name().parse::<Compression>(), Ok(c));
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!(Compression::from_id(5), None);
        assert_eq!(Compression::from_id(7), None);
        assert_eq!(" GZIP ".parse::<Compression>(), Ok(Compression::Gzip));
        assert!("brotli".parse::<Compression>().is_err());
    }

    #[test]
    fn round_trip_every_codec_through_the_registry() {
        let codecs = Codecs::default();
        for c in Compression::ALL {
            for len in [0, 1, 100, 70_000, 300_000] {
                let input = sample(len);
                let mut out = BytesMut::new();
                codecs.compress(c, &input, None, &mut out).unwrap();
                let back = codecs
                    .decompress(c, &out.freeze(), DEFAULT_MAX_DECOMPRESSED_SIZE)
                    .unwrap();
                assert_eq!(&back[..], &input[..], "{c} len {len}");
            }
        }
    }

    #[test]
    fn none_is_bounded_too() {
        let codecs = Codecs::default();
        let input = Bytes::from(vec![0u8; 100]);
        assert_eq!(
            codecs.decompress(Compression::None, &input, 99),
            Err(DecodeError::DecompressedTooLarge { max: 99 })
        );
        assert_eq!(
            codecs
                .decompress(Compression::None, &input, 100)
                .unwrap()
                .as_ptr(),
            input.as_ptr()
        );
    }

    #[derive(Debug)]
    struct Reverse;

    impl CompressionCodec for Reverse {
        fn compress(
            &self,
            input: &[u8],
            _level: Option<i32>,
            out: &mut BytesMut,
        ) -> Result<(), EncodeError> {
            out.extend(input.iter().rev());
            Ok(())
        }

        fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError> {
            if input.len() > max_output {
                return Err(DecodeError::DecompressedTooLarge { max: max_output });
            }
            Ok(input.iter().rev().copied().collect())
        }
    }

    #[test]
    fn overriding_one_codec_keeps_the_others() {
        let codecs = Codecs::default().with(Compression::Snappy, Arc::new(Reverse));
        let mut out = BytesMut::new();
        codecs
            .compress(Compression::Snappy, b"abc", None, &mut out)
            .unwrap();
        assert_eq!(&out[..], b"cba");
        assert!(format!("{codecs:?}").contains("Reverse"));
        // The default registry is untouched.
        let mut out = BytesMut::new();
        Codecs::default()
            .compress(Compression::Snappy, b"abc", None, &mut out)
            .unwrap();
        assert_ne!(&out[..], b"cba");
        // Gzip still works in the new registry.
        let mut out = BytesMut::new();
        codecs
            .compress(Compression::Gzip, b"abc", None, &mut out)
            .unwrap();
        let back = codecs
            .decompress(Compression::Gzip, &out.freeze(), 10)
            .unwrap();
        assert_eq!(&back[..], b"abc");
    }
}
