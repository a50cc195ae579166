//! The traits every generated message implements.

use bytes::{Bytes, BytesMut};

use super::WriteBuf;

use crate::api_key::{ApiKey, VersionRange};
use crate::{DecodeError, EncodeError};

/// A value that can be written in a given version of its schema.
pub trait Encode {
    /// The exact number of bytes [`Encode::encode`] writes for `version`.
    fn encoded_size(&self, version: i16) -> Result<usize, EncodeError>;

    /// Writes the value. The caller should reserve [`Encode::encoded_size`] bytes first so that
    /// the write never reallocates. With a [`ChunkedBuf`](super::ChunkedBuf), record data is
    /// referenced rather than copied.
    fn encode<B: WriteBuf>(&self, buf: &mut B, version: i16) -> Result<(), EncodeError>;

    /// Sizes, allocates once, and encodes.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let size = self.encoded_size(version)?;
        let mut buf = BytesMut::with_capacity(size);
        self.encode(&mut buf, version)?;
        Ok(buf.freeze())
    }
}

/// A value that can be read from a given version of its schema.
pub trait Decode: Sized {
    /// Reads the value from the front of `buf`, leaving the rest. Byte fields, strings and
    /// records are slices of `buf`.
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError>;
}

/// A top-level message of the protocol (request, response, header or data schema).
pub trait Message: Encode + Decode + Default + Clone + std::fmt::Debug + PartialEq {
    /// The schema's name, e.g. `FetchRequest`.
    const NAME: &'static str;
    /// The versions the schema defines.
    const VERSIONS: VersionRange;
    /// The first flexible version (compact encodings, tagged fields), if any.
    const FLEXIBLE_FROM: Option<i16>;

    /// Whether `version` uses the flexible encoding.
    #[inline]
    fn is_flexible(version: i16) -> bool {
        matches!(Self::FLEXIBLE_FROM, Some(v) if version >= v)
    }
}

/// A request message.
pub trait RequestMessage: Message {
    /// The request's API key.
    const API_KEY: ApiKey;
    /// The response that answers it.
    type Response: ResponseMessage;
}

/// A response message.
pub trait ResponseMessage: Message {
    /// The response's API key.
    const API_KEY: ApiKey;
}

/// Proptest strategies for values that can be encoded at a given version (every field a version
/// cannot carry holds its default). Enabled by the `arbitrary` feature.
#[cfg(any(test, feature = "arbitrary"))]
pub trait ArbitraryMessage: Sized + std::fmt::Debug {
    /// A strategy for values valid at `version`.
    fn arbitrary(version: i16) -> proptest::strategy::BoxedStrategy<Self>;
}
