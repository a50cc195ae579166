//! Variable-length integers: Kafka's unsigned varints (used by flexible versions) and the
//! zig-zag signed varints and varlongs of record batches.

use bytes::{Buf, BufMut, Bytes};

use super::slice::SliceReader;
use crate::DecodeError;

/// Reads an unsigned varint of at most 5 bytes (32 bits).
#[inline]
pub fn get_uvarint(buf: &mut Bytes) -> Result<u32, DecodeError> {
    let mut reader = SliceReader::new(buf, 0);
    let value = reader.uvarint()?;
    buf.advance(reader.pos);
    Ok(value)
}

/// Reads an unsigned varint of at most 10 bytes (64 bits).
#[inline]
pub fn get_uvarlong(buf: &mut Bytes) -> Result<u64, DecodeError> {
    let mut reader = SliceReader::new(buf, 0);
    let value = reader.uvarlong()?;
    buf.advance(reader.pos);
    Ok(value)
}

/// Reads a zig-zag encoded signed varint (32 bits).
#[inline]
pub fn get_varint(buf: &mut Bytes) -> Result<i32, DecodeError> {
    let mut reader = SliceReader::new(buf, 0);
    let value = reader.varint()?;
    buf.advance(reader.pos);
    Ok(value)
}

/// Reads a zig-zag encoded signed varlong (64 bits).
#[inline]
pub fn get_varlong(buf: &mut Bytes) -> Result<i64, DecodeError> {
    let mut reader = SliceReader::new(buf, 0);
    let value = reader.varlong()?;
    buf.advance(reader.pos);
    Ok(value)
}

/// Writes an unsigned varint.
#[inline]
pub fn put_uvarint<B: BufMut>(buf: &mut B, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes an unsigned varlong.
#[inline]
pub fn put_uvarlong<B: BufMut>(buf: &mut B, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes a zig-zag encoded signed varint.
#[inline]
pub fn put_varint<B: BufMut>(buf: &mut B, value: i32) {
    put_uvarint(buf, ((value << 1) ^ (value >> 31)) as u32);
}

/// Writes a zig-zag encoded signed varlong.
#[inline]
pub fn put_varlong<B: BufMut>(buf: &mut B, value: i64) {
    put_uvarlong(buf, ((value << 1) ^ (value >> 63)) as u64);
}

/// The encoded size of an unsigned varint.
#[inline]
pub const fn uvarint_len(value: u32) -> usize {
    // Each byte carries 7 bits; a zero still takes one byte.
    let bits = 32 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The encoded size of an unsigned varlong.
#[inline]
pub const fn uvarlong_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The encoded size of a zig-zag signed varint.
#[inline]
pub const fn varint_len(value: i32) -> usize {
    uvarint_len(((value << 1) ^ (value >> 31)) as u32)
}

/// The encoded size of a zig-zag signed varlong.
#[inline]
pub const fn varlong_len(value: i64) -> usize {
    uvarlong_len(((value << 1) ^ (value >> 63)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let mut buf = BytesMut::new();
        put_uvarint(&mut buf, 300);
        assert_eq!(&buf[..], &[0xac, 0x02]);
        buf.clear();
        put_varint(&mut buf, -1);
        assert_eq!(&buf[..], &[0x01]);
        buf.clear();
        put_varint(&mut buf, 1);
        assert_eq!(&buf[..], &[0x02]);
        buf.clear();
        put_varlong(&mut buf, i64::MIN);
        assert_eq!(buf.len(), 10);
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        let mut b = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(get_uvarint(&mut b), Err(DecodeError::VarintTooLong));
        let mut b = Bytes::from_static(&[0xff; 11]);
        assert_eq!(get_uvarlong(&mut b), Err(DecodeError::VarintTooLong));
        let mut b = Bytes::from_static(&[0x80, 0x80]);
        assert!(matches!(
            get_uvarint(&mut b),
            Err(DecodeError::Truncated { .. })
        ));
        // 2^32 does not fit: the fifth byte may carry only four bits.
        let mut b = Bytes::from_static(&[0x80, 0x80, 0x80, 0x80, 0x10]);
        assert_eq!(get_uvarint(&mut b), Err(DecodeError::VarintTooLong));
    }

    proptest! {
        #[test]
        fn uvarint_round_trip(v: u32) {
            let mut buf = BytesMut::new();
            put_uvarint(&mut buf, v);
            prop_assert_eq!(buf.len(), uvarint_len(v));
            prop_assert_eq!(get_uvarint(&mut buf.freeze())?, v);
        }

        #[test]
        fn varint_round_trip(v: i32) {
            let mut buf = BytesMut::new();
            put_varint(&mut buf, v);
            prop_assert_eq!(buf.len(), varint_len(v));
            prop_assert_eq!(get_varint(&mut buf.freeze())?, v);
        }

        #[test]
        fn varlong_round_trip(v: i64) {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, v);
            prop_assert_eq!(buf.len(), varlong_len(v));
            prop_assert_eq!(get_varlong(&mut buf.freeze())?, v);
        }
    }
}
