//! Errors of the wire codecs.
//!
//! Both error types are small and `Copy`: decoding runs on untrusted bytes at line rate, so an
//! error must be cheap to make and to pass up, and must never carry a peer-controlled amount of
//! data.

use std::fmt;

/// Why bytes could not be decoded. Every decode path in this crate returns one of these on
/// malformed, truncated or hostile input instead of panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value it declared.
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// A variable-length integer did not end within its maximum length.
    VarintTooLong,
    /// A declared length or element count is negative (other than null), or larger than the
    /// bytes that remain.
    InvalidLength {
        /// What the length belongs to.
        what: &'static str,
        /// The declared length.
        length: i64,
    },
    /// A null where the version does not allow one.
    UnexpectedNull {
        /// The field that was null.
        what: &'static str,
    },
    /// A string that is not valid UTF-8.
    InvalidUtf8,
    /// An API key this crate does not know.
    UnknownApiKey(i16),
    /// A version outside the range a message defines.
    UnsupportedVersion {
        /// The API key, or -1 for messages that are not requests or responses.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// Bytes left over after a value that must fill its frame or tagged field.
    TrailingBytes {
        /// What had bytes left over.
        what: &'static str,
        /// How many.
        count: usize,
    },
    /// A tagged field whose tag is not greater than the one before it in its section.
    UnorderedTaggedField {
        /// The repeated or out-of-order tag.
        tag: u32,
    },
    /// A frame larger than the configured maximum.
    FrameTooLarge {
        /// The size the frame declared.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A record batch whose CRC32C does not match its contents.
    CrcMismatch {
        /// The CRC stored in the batch.
        expected: u32,
        /// The CRC computed over the batch.
        actual: u32,
    },
    /// A record batch or message with a magic byte this crate cannot read.
    UnsupportedMagic(i8),
    /// A compression codec id that Kafka does not define, or that has no codec registered.
    UnknownCompression(u8),
    /// Compressed data that could not be decompressed.
    Decompression {
        /// The codec's name.
        codec: &'static str,
    },
    /// Data compressed with a codec this build leaves out (zstd without the `zstd` feature).
    CodecNotBuilt {
        /// The codec's name.
        codec: &'static str,
        /// The cargo feature that builds it.
        feature: &'static str,
    },
    /// Decompressed data would exceed the configured maximum (a compression bomb, or a limit
    /// set too low).
    DecompressedTooLarge {
        /// The configured maximum in bytes.
        max: usize,
    },
    /// A record or batch whose fields contradict each other.
    InvalidRecord {
        /// What is inconsistent.
        what: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { what } => write!(f, "input ended while reading {what}"),
            Self::VarintTooLong => f.write_str("variable-length integer is too long"),
            Self::InvalidLength { what, length } => {
                write!(f, "invalid length {length} for {what}")
            }
            Self::UnexpectedNull { what } => write!(f, "{what} is null where it may not be"),
            Self::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            Self::UnknownApiKey(key) => write!(f, "unknown API key {key}"),
            Self::UnsupportedVersion { api_key, version } => {
                write!(f, "version {version} of API key {api_key} is not supported")
            }
            Self::TrailingBytes { what, count } => {
                write!(f, "{count} unexpected bytes after {what}")
            }
            Self::UnorderedTaggedField { tag } => {
                write!(f, "tagged field {tag} is repeated or out of order")
            }
            Self::FrameTooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the maximum of {max}")
            }
            Self::CrcMismatch { expected, actual } => write!(
                f,
                "record batch CRC mismatch: stored {expected:#010x}, computed {actual:#010x}"
            ),
            Self::UnsupportedMagic(magic) => write!(f, "unsupported record magic {magic}"),
            Self::UnknownCompression(id) => write!(f, "unknown compression codec id {id}"),
            Self::Decompression { codec } => write!(f, "{codec} data could not be decompressed"),
            Self::CodecNotBuilt { codec, feature } => write!(
                f,
                "{codec} is not built into this client (enable krafka's `{feature}` feature)"
            ),
            Self::DecompressedTooLarge { max } => {
                write!(f, "decompressed data exceeds the maximum of {max} bytes")
            }
            Self::InvalidRecord { what } => write!(f, "invalid record: {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A version outside the range the message defines.
    UnsupportedVersion {
        /// The API key, or -1 for messages that are not requests or responses.
        api_key: i16,
        /// The version asked for.
        version: i16,
    },
    /// A field holds a non-default value but the chosen version cannot carry it. Kafka's own
    /// client fails the same way rather than drop the value silently (fields the schema marks
    /// `ignorable` are dropped, as in Kafka).
    FieldNotSupported {
        /// The struct the field belongs to.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A field is null but the chosen version cannot carry a null.
    NullNotAllowed {
        /// The struct the field belongs to.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A string, byte field or array is longer than its length prefix can describe.
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        length: usize,
    },
    /// A compression codec failed.
    Compression {
        /// The codec's name.
        codec: &'static str,
    },
    /// A codec this build leaves out (zstd without the `zstd` feature).
    CodecNotBuilt {
        /// The codec's name.
        codec: &'static str,
        /// The cargo feature that builds it.
        feature: &'static str,
    },
    /// A record or batch whose fields contradict each other.
    InvalidRecord {
        /// What is inconsistent.
        what: &'static str,
    },
    /// A compression level outside the range the codec accepts.
    InvalidCompressionLevel {
        /// The codec's name.
        codec: &'static str,
        /// The level asked for.
        level: i32,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedVersion { api_key, version } => {
                write!(f, "version {version} of API key {api_key} is not supported")
            }
            Self::FieldNotSupported {
                message,
                field,
                version,
            } => write!(
                f,
                "{message}.{field} has a non-default value that version {version} cannot carry"
            ),
            Self::NullNotAllowed {
                message,
                field,
                version,
            } => {
                write!(f, "{message}.{field} may not be null in version {version}")
            }
            Self::TooLong { what, length } => write!(f, "{what} of length {length} is too long"),
            Self::Compression { codec } => write!(f, "{codec} compression failed"),
            Self::CodecNotBuilt { codec, feature } => write!(
                f,
                "{codec} is not built into this client (enable krafka's `{feature}` feature)"
            ),
            Self::InvalidRecord { what } => write!(f, "invalid record: {what}"),
            Self::InvalidCompressionLevel { codec, level } => {
                write!(f, "{level} is not a valid {codec} compression level")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
