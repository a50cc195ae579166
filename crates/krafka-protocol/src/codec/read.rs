//! Bounds-checked reads from untrusted bytes.
//!
//! Every function checks what remains before it reads, and every length a peer declares is
//! checked against the bytes actually present before anything is sliced or allocated. Byte
//! fields and strings come back as slices of the input (`Bytes::split_to`), never copies.

use bytes::{Buf, Bytes};

use super::varint::get_uvarint;
use super::{StrBytes, Uuid};
use crate::DecodeError;

#[inline]
fn need(buf: &Bytes, n: usize, what: &'static str) -> Result<(), DecodeError> {
    if buf.remaining() < n {
        Err(DecodeError::Truncated { what })
    } else {
        Ok(())
    }
}

/// Reads an `int8`.
#[inline]
pub fn get_i8(buf: &mut Bytes) -> Result<i8, DecodeError> {
    buf.try_get_i8()
        .map_err(|_| DecodeError::Truncated { what: "int8" })
}

/// Reads a `bool` (any non-zero byte is true, as in Kafka).
#[inline]
pub fn get_bool(buf: &mut Bytes) -> Result<bool, DecodeError> {
    buf.try_get_u8()
        .map(|b| b != 0)
        .map_err(|_| DecodeError::Truncated { what: "bool" })
}

/// Reads an `int16`.
#[inline]
pub fn get_i16(buf: &mut Bytes) -> Result<i16, DecodeError> {
    buf.try_get_i16()
        .map_err(|_| DecodeError::Truncated { what: "int16" })
}

/// Reads a `uint16`.
#[inline]
pub fn get_u16(buf: &mut Bytes) -> Result<u16, DecodeError> {
    buf.try_get_u16()
        .map_err(|_| DecodeError::Truncated { what: "uint16" })
}

/// Reads an `int32`.
#[inline]
pub fn get_i32(buf: &mut Bytes) -> Result<i32, DecodeError> {
    buf.try_get_i32()
        .map_err(|_| DecodeError::Truncated { what: "int32" })
}

/// Reads a `uint32`.
#[inline]
pub fn get_u32(buf: &mut Bytes) -> Result<u32, DecodeError> {
    buf.try_get_u32()
        .map_err(|_| DecodeError::Truncated { what: "uint32" })
}

/// Reads an `int64`.
#[inline]
pub fn get_i64(buf: &mut Bytes) -> Result<i64, DecodeError> {
    buf.try_get_i64()
        .map_err(|_| DecodeError::Truncated { what: "int64" })
}

/// Reads a `float64`.
#[inline]
pub fn get_f64(buf: &mut Bytes) -> Result<f64, DecodeError> {
    buf.try_get_f64()
        .map_err(|_| DecodeError::Truncated { what: "float64" })
}

/// Reads a `uuid`.
#[inline]
pub fn get_uuid(buf: &mut Bytes) -> Result<Uuid, DecodeError> {
    need(buf, 16, "uuid")?;
    let mut raw = [0u8; 16];
    buf.copy_to_slice(&mut raw);
    Ok(Uuid::from_bytes(raw))
}

/// Splits off the next `len` bytes without copying.
#[inline]
pub fn take(buf: &mut Bytes, len: usize, what: &'static str) -> Result<Bytes, DecodeError> {
    if buf.remaining() < len {
        return Err(DecodeError::InvalidLength {
            what,
            length: len as i64,
        });
    }
    Ok(buf.split_to(len))
}

/// Reads a length prefix: `int16`/`int32` in classic versions, an unsigned varint holding
/// `length + 1` in compact (flexible) versions. `None` is null. The length is checked against
/// the remaining bytes so the caller may slice or allocate by it.
#[inline]
fn get_length(
    buf: &mut Bytes,
    compact: bool,
    wide: bool,
    what: &'static str,
) -> Result<Option<usize>, DecodeError> {
    let length: i64 = if compact {
        i64::from(get_uvarint(buf)?) - 1
    } else if wide {
        i64::from(get_i32(buf)?)
    } else {
        i64::from(get_i16(buf)?)
    };
    if length == -1 {
        return Ok(None);
    }
    if length < 0 || length as u64 > buf.remaining() as u64 {
        return Err(DecodeError::InvalidLength { what, length });
    }
    Ok(Some(length as usize))
}

/// Reads a nullable `string` (int16 length, or compact).
#[inline]
pub fn get_nullable_string(
    buf: &mut Bytes,
    compact: bool,
) -> Result<Option<StrBytes>, DecodeError> {
    match get_length(buf, compact, false, "string")? {
        None => Ok(None),
        Some(len) => {
            let raw = buf.split_to(len);
            StrBytes::from_utf8(raw)
                .map(Some)
                .map_err(|_| DecodeError::InvalidUtf8)
        }
    }
}

/// Reads a non-nullable `string`; a null is an error.
#[inline]
pub fn get_string(buf: &mut Bytes, compact: bool) -> Result<StrBytes, DecodeError> {
    get_nullable_string(buf, compact)?.ok_or(DecodeError::UnexpectedNull { what: "string" })
}

/// Reads nullable `bytes` (int32 length, or compact) as a slice of the input.
#[inline]
pub fn get_nullable_bytes(buf: &mut Bytes, compact: bool) -> Result<Option<Bytes>, DecodeError> {
    Ok(get_length(buf, compact, true, "bytes")?.map(|len| buf.split_to(len)))
}

/// Reads non-nullable `bytes`; a null is an error.
#[inline]
pub fn get_bytes(buf: &mut Bytes, compact: bool) -> Result<Bytes, DecodeError> {
    get_nullable_bytes(buf, compact)?.ok_or(DecodeError::UnexpectedNull { what: "bytes" })
}

/// Reads an array's element count (int32, or compact). `None` is null.
///
/// The count is rejected when it exceeds the bytes that remain: every element of every Kafka
/// array takes at least one byte, so a larger count is hostile, and callers may therefore size
/// a `Vec` by the returned count.
#[inline]
pub fn get_array_len(buf: &mut Bytes, compact: bool) -> Result<Option<usize>, DecodeError> {
    get_length(buf, compact, true, "array")
}

/// Reads a non-nullable array's element count; a null is an error.
#[inline]
pub fn get_non_null_array_len(buf: &mut Bytes, compact: bool) -> Result<usize, DecodeError> {
    get_array_len(buf, compact)?.ok_or(DecodeError::UnexpectedNull { what: "array" })
}

/// Reads the header of a tagged-field section: the number of fields, checked against the
/// remaining bytes (each field takes at least two).
#[inline]
pub fn get_tagged_count(buf: &mut Bytes) -> Result<usize, DecodeError> {
    let count = get_uvarint(buf)? as usize;
    if count > buf.remaining() / 2 {
        return Err(DecodeError::InvalidLength {
            what: "tagged fields",
            length: count as i64,
        });
    }
    Ok(count)
}

/// Reads one tagged field's tag and size, and splits its data off the input. Tags must be
/// strictly ascending within a section (as Kafka writes them): a repeated or out-of-order tag
/// is an error, so no field is silently overwritten and re-encoding reproduces the input.
/// `last` carries the previous tag of the section between calls.
#[inline]
pub fn get_tagged_field(
    buf: &mut Bytes,
    last: &mut Option<u32>,
) -> Result<(u32, Bytes), DecodeError> {
    let tag = get_uvarint(buf)?;
    if last.is_some_and(|previous| tag <= previous) {
        return Err(DecodeError::UnorderedTaggedField { tag });
    }
    *last = Some(tag);
    let size = get_uvarint(buf)? as usize;
    let data = take(buf, size, "tagged field")?;
    Ok((tag, data))
}

/// A `Vec` for `n` decoded elements whose up-front capacity is capped.
///
/// `n` has been checked against the bytes present, but an element in memory can be far larger
/// than its one byte on the wire. Capping the first allocation at 1 MiB keeps a count that lies
/// from reserving more than that (decoding fails at the first missing element, so at most one
/// lying count per nesting level is ever acted on), while real arrays of up to 1 MiB of
/// elements (a Fetch response over thousands of partitions) are allocated once, not regrown.
#[inline]
pub fn bounded_vec<T>(n: usize) -> Vec<T> {
    const MAX_PREALLOCATED_BYTES: usize = 1 << 20;
    let cap = MAX_PREALLOCATED_BYTES / std::mem::size_of::<T>().max(1);
    Vec::with_capacity(n.min(cap))
}

/// Fails when a buffer that must have been consumed whole still holds bytes.
#[inline]
pub fn expect_empty(buf: &Bytes, what: &'static str) -> Result<(), DecodeError> {
    if buf.has_remaining() {
        Err(DecodeError::TrailingBytes {
            what,
            count: buf.remaining(),
        })
    } else {
        Ok(())
    }
}

/// Reads a nullable struct's presence marker (an `int8`: negative is null).
#[inline]
pub fn get_struct_present(buf: &mut Bytes) -> Result<bool, DecodeError> {
    Ok(get_i8(buf)? >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_array_length_is_rejected_without_allocating() {
        let mut b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0]);
        assert!(matches!(
            get_array_len(&mut b, false),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut b = Bytes::from_static(&[0x80, 0x00, 0x00, 0x00]);
        assert!(matches!(
            get_array_len(&mut b, false),
            Err(DecodeError::InvalidLength { .. })
        ));
    }

    #[test]
    fn null_and_empty_strings() {
        let mut b = Bytes::from_static(&[0xff, 0xff]);
        assert_eq!(get_nullable_string(&mut b, false), Ok(None));
        let mut b = Bytes::from_static(&[0x00]);
        assert_eq!(get_nullable_string(&mut b, true), Ok(None));
        let mut b = Bytes::from_static(&[0x01]);
        assert_eq!(get_string(&mut b, true).map(|s| s.len()), Ok(0));
        let mut b = Bytes::from_static(&[0x00, 0x02, 0xc3, 0x28]);
        assert_eq!(get_string(&mut b, false), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn strings_and_bytes_are_slices_of_the_input() {
        let input = Bytes::from_static(&[0x00, 0x00, 0x00, 0x03, b'a', b'b', b'c']);
        let mut b = input.clone();
        let field = get_bytes(&mut b, false).unwrap();
        assert_eq!(field.as_ptr(), input[4..].as_ptr());
    }

    #[test]
    fn tagged_fields_must_ascend() {
        let mut last = None;
        let mut b = Bytes::from_static(&[0x01, 0x00, 0x03, 0x00, 0x03, 0x00]);
        assert_eq!(get_tagged_field(&mut b, &mut last).map(|(t, _)| t), Ok(1));
        assert_eq!(get_tagged_field(&mut b, &mut last).map(|(t, _)| t), Ok(3));
        assert_eq!(
            get_tagged_field(&mut b, &mut last),
            Err(DecodeError::UnorderedTaggedField { tag: 3 })
        );
    }

    #[test]
    fn truncated_primitives() {
        let mut b = Bytes::from_static(&[0x01, 0x02, 0x03]);
        assert!(matches!(
            get_i32(&mut b),
            Err(DecodeError::Truncated { .. })
        ));
        let mut b = Bytes::from_static(&[0x01; 15]);
        assert!(get_uuid(&mut b).is_err());
    }
}
