//! Writes into a pre-sized `BytesMut`, and the size functions that size it.
//!
//! Every length that goes on the wire is checked against what its prefix can describe, so an
//! oversized value is an [`EncodeError`], not a silently truncated length.

use bytes::{BufMut, Bytes};

use super::varint::{put_uvarint, uvarint_len};
use super::{RawTaggedField, Uuid, WriteBuf};
use crate::EncodeError;

/// Writes a `uuid`.
#[inline]
pub fn put_uuid<B: BufMut>(buf: &mut B, value: &Uuid) {
    buf.put_slice(value.as_bytes());
}

/// Writes a length prefix; `None` writes null.
#[inline]
fn put_length<B: BufMut>(
    buf: &mut B,
    len: Option<usize>,
    compact: bool,
    wide: bool,
    what: &'static str,
) -> Result<(), EncodeError> {
    match len {
        None if compact => buf.put_u8(0),
        None if wide => buf.put_i32(-1),
        None => buf.put_i16(-1),
        Some(n) if compact => {
            let n = u32::try_from(n)
                .ok()
                .filter(|n| *n < i32::MAX as u32)
                .ok_or(EncodeError::TooLong { what, length: n })?;
            put_uvarint(buf, n + 1);
        }
        Some(n) if wide => {
            let n = i32::try_from(n).map_err(|_| EncodeError::TooLong { what, length: n })?;
            buf.put_i32(n);
        }
        Some(n) => {
            let n = i16::try_from(n).map_err(|_| EncodeError::TooLong { what, length: n })?;
            buf.put_i16(n);
        }
    }
    Ok(())
}

#[inline]
const fn length_size(len: Option<usize>, compact: bool, wide: bool) -> usize {
    if compact {
        match len {
            // A length that does not fit fails at write time; the size only has to be a bound.
            Some(n) if n < (u32::MAX as usize) => uvarint_len(n as u32 + 1),
            Some(_) => 5,
            None => 1,
        }
    } else if wide {
        4
    } else {
        2
    }
}

/// Writes a nullable string.
#[inline]
pub fn put_nullable_string<B: BufMut>(
    buf: &mut B,
    value: Option<&str>,
    compact: bool,
) -> Result<(), EncodeError> {
    put_length(buf, value.map(str::len), compact, false, "string")?;
    if let Some(s) = value {
        buf.put_slice(s.as_bytes());
    }
    Ok(())
}

/// Writes a string.
#[inline]
pub fn put_string<B: BufMut>(buf: &mut B, value: &str, compact: bool) -> Result<(), EncodeError> {
    put_nullable_string(buf, Some(value), compact)
}

/// The encoded size of a nullable string.
#[inline]
pub fn nullable_string_size(value: Option<&str>, compact: bool) -> usize {
    length_size(value.map(str::len), compact, false) + value.map_or(0, str::len)
}

/// The encoded size of a string.
#[inline]
pub fn string_size(value: &str, compact: bool) -> usize {
    nullable_string_size(Some(value), compact)
}

/// Writes nullable bytes.
#[inline]
pub fn put_nullable_bytes<B: BufMut>(
    buf: &mut B,
    value: Option<&[u8]>,
    compact: bool,
) -> Result<(), EncodeError> {
    put_length(buf, value.map(<[u8]>::len), compact, true, "bytes")?;
    if let Some(b) = value {
        buf.put_slice(b);
    }
    Ok(())
}

/// Writes bytes.
#[inline]
pub fn put_bytes<B: BufMut>(buf: &mut B, value: &[u8], compact: bool) -> Result<(), EncodeError> {
    put_nullable_bytes(buf, Some(value), compact)
}

/// Writes nullable record data. Unlike other byte fields, records are handed to the buffer as
/// shared `Bytes`, so a [`WriteBuf`] that keeps chunks can send them without a copy.
#[inline]
pub fn put_nullable_records<B: WriteBuf>(
    buf: &mut B,
    value: Option<&Bytes>,
    compact: bool,
) -> Result<(), EncodeError> {
    put_length(buf, value.map(Bytes::len), compact, true, "records")?;
    if let Some(b) = value {
        buf.put_shared(b);
    }
    Ok(())
}

/// Writes record data (see [`put_nullable_records`]).
#[inline]
pub fn put_records<B: WriteBuf>(
    buf: &mut B,
    value: &Bytes,
    compact: bool,
) -> Result<(), EncodeError> {
    put_nullable_records(buf, Some(value), compact)
}

/// The encoded size of nullable bytes.
#[inline]
pub fn nullable_bytes_size(value: Option<&[u8]>, compact: bool) -> usize {
    length_size(value.map(<[u8]>::len), compact, true) + value.map_or(0, <[u8]>::len)
}

/// The encoded size of bytes.
#[inline]
pub fn bytes_size(value: &[u8], compact: bool) -> usize {
    nullable_bytes_size(Some(value), compact)
}

/// Writes an array's element count; `None` writes null.
#[inline]
pub fn put_array_len<B: BufMut>(
    buf: &mut B,
    len: Option<usize>,
    compact: bool,
) -> Result<(), EncodeError> {
    put_length(buf, len, compact, true, "array")
}

/// The encoded size of an array's element count.
#[inline]
pub const fn array_len_size(len: Option<usize>, compact: bool) -> usize {
    length_size(len, compact, true)
}

/// The encoded size of one tagged field whose value takes `value_size` bytes.
#[inline]
pub const fn tagged_field_size(tag: u32, value_size: usize) -> usize {
    let size_len = if value_size < u32::MAX as usize {
        uvarint_len(value_size as u32)
    } else {
        5
    };
    uvarint_len(tag) + size_len + value_size
}

/// Writes one tagged field's tag and size; the caller writes the value after it.
#[inline]
pub fn put_tagged_field_header<B: BufMut>(
    buf: &mut B,
    tag: u32,
    value_size: usize,
) -> Result<(), EncodeError> {
    let size = u32::try_from(value_size).map_err(|_| EncodeError::TooLong {
        what: "tagged field",
        length: value_size,
    })?;
    put_uvarint(buf, tag);
    put_uvarint(buf, size);
    Ok(())
}

/// Writes the unknown tagged fields whose tags are below `below` (all of them for `u32::MAX`
/// plus one), advancing `next`, so that known and unknown fields go out in ascending tag order.
#[inline]
pub fn put_unknown_tagged_below<B: BufMut>(
    buf: &mut B,
    unknown: &[RawTaggedField],
    next: &mut usize,
    below: u64,
) -> Result<(), EncodeError> {
    while let Some(field) = unknown.get(*next) {
        if u64::from(field.tag) >= below {
            break;
        }
        put_tagged_field_header(buf, field.tag, field.data.len())?;
        buf.put_slice(&field.data);
        *next += 1;
    }
    Ok(())
}

/// The encoded size of a list of unknown tagged fields.
#[inline]
pub fn unknown_tagged_size(unknown: &[RawTaggedField]) -> usize {
    unknown
        .iter()
        .map(|f| tagged_field_size(f.tag, f.data.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    #[test]
    fn lengths_that_do_not_fit_are_errors() {
        let long = "x".repeat(i16::MAX as usize + 1);
        let mut buf = BytesMut::new();
        assert!(matches!(
            put_string(&mut buf, &long, false),
            Err(EncodeError::TooLong { what: "string", .. })
        ));
        assert!(put_string(&mut buf, &long, true).is_ok());
    }

    #[test]
    fn sizes_match_writes() {
        for (value, compact) in [
            (None, true),
            (None, false),
            (Some("abc"), true),
            (Some(""), false),
        ] {
            let mut buf = BytesMut::new();
            put_nullable_string(&mut buf, value, compact).unwrap();
            assert_eq!(buf.len(), nullable_string_size(value, compact));
        }
        let mut buf = BytesMut::new();
        put_tagged_field_header(&mut buf, 300, 200).unwrap();
        assert_eq!(buf.len() + 200, tagged_field_size(300, 200));
    }
}
