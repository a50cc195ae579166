//! The handwritten runtime under the generated message codecs.
//!
//! Generated code only strings these pieces together; everything that touches untrusted bytes
//! lives here, once: bounds-checked primitive reads, varints, strings, byte fields, array
//! lengths and tagged fields. Reads take `&mut Bytes` and hand out slices of it, so decoding
//! never copies record data or byte fields. Writes go to a `BytesMut` whose size the caller
//! computed first.

mod chunked;
mod read;
mod slice;
mod str_bytes;
mod tagged;
mod traits;
mod uuid;
mod varint;
mod write;

pub use crate::api_key::VersionRange;
pub use chunked::{ChunkedBuf, WriteBuf};
pub use read::*;
pub(crate) use slice::SliceReader;
pub use str_bytes::StrBytes;
pub use tagged::{RawTaggedField, UnknownTaggedFields};
pub use traits::{Decode, Encode, Message, RequestMessage, ResponseMessage};
pub use uuid::Uuid;
pub use varint::{
    get_uvarint, get_uvarlong, get_varint, get_varlong, put_uvarint, put_uvarlong, put_varint,
    put_varlong, uvarint_len, uvarlong_len, varint_len, varlong_len,
};
pub use write::*;

#[cfg(any(test, feature = "arbitrary"))]
pub use traits::ArbitraryMessage;

#[cfg(any(test, feature = "arbitrary"))]
pub mod testing;
