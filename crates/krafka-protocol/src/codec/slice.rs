//! [`SliceReader`]: reading a byte slice by position, with Kafka's varints. Records are parsed
//! by position rather than by advancing `Bytes`, so that only a record's key, value and headers
//! become (reference-counted) slices; the message codecs' varint readers run on it too, so
//! every varint is read by one piece of code.

use std::ops::Range;

use crate::DecodeError;

/// A read position in a byte slice, with the varints Kafka writes: the one reader under both the
/// message codecs' varints ([`get_uvarint`](super::get_uvarint) and friends) and the record
/// format's parser.
///
/// Records are parsed by position rather than by advancing `Bytes`, so that only the key,
/// value and headers become (reference-counted) slices. `end` bounds what may be read.
pub(crate) struct SliceReader<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    end: usize,
}

impl<'a> SliceReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            end: data.len(),
        }
    }

    /// A reader of the same data from `start` up to `end` (no further than this one's end).
    pub(crate) fn section(&self, start: usize, end: usize) -> Self {
        Self {
            data: self.data,
            pos: start,
            end: end.min(self.end),
        }
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    #[inline]
    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        if self.pos >= self.end {
            return Err(DecodeError::Truncated { what });
        }
        let byte = *self
            .data
            .get(self.pos)
            .ok_or(DecodeError::Truncated { what })?;
        self.pos += 1;
        Ok(byte)
    }

    #[inline]
    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated { what });
        }
        self.pos += n;
        Ok(())
    }

    /// An unsigned varint of at most 5 bytes, the fifth carrying at most 4 bits.
    #[inline]
    pub(crate) fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let first = self.byte("varint")?;
        if first < 0x80 {
            return Ok(u32::from(first));
        }
        let mut value = u32::from(first & 0x7f);
        for shift in [7, 14, 21, 28] {
            let byte = self.byte("varint")?;
            if shift == 28 && byte > 0x0f {
                return Err(DecodeError::VarintTooLong);
            }
            value |= u32::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(DecodeError::VarintTooLong)
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<i32, DecodeError> {
        let raw = self.uvarint()?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// An unsigned varlong of at most 10 bytes, the tenth carrying at most 1 bit.
    #[inline]
    pub(crate) fn uvarlong(&mut self) -> Result<u64, DecodeError> {
        let first = self.byte("varlong")?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let mut value = u64::from(first & 0x7f);
        let mut shift = 7;
        loop {
            let byte = self.byte("varlong")?;
            if shift == 63 && byte > 0x01 {
                return Err(DecodeError::VarintTooLong);
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError::VarintTooLong);
            }
        }
    }

    #[inline]
    pub(crate) fn varlong(&mut self) -> Result<i64, DecodeError> {
        let raw = self.uvarlong()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint length (-1 for null) and the bytes it covers, checked against what remains.
    #[inline]
    pub(crate) fn length(&mut self, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let length = self.varint()?;
        if length == -1 {
            return Ok(None);
        }
        match usize::try_from(length) {
            Ok(n) if n <= self.remaining() => Ok(Some(n)),
            _ => Err(DecodeError::InvalidLength {
                what,
                length: i64::from(length),
            }),
        }
    }

    /// A nullable varint-prefixed byte field, as its position in the buffer.
    #[inline]
    pub(crate) fn span(&mut self, what: &'static str) -> Result<Option<Range<usize>>, DecodeError> {
        Ok(self.length(what)?.map(|n| {
            let start = self.pos;
            self.pos += n;
            start..self.pos
        }))
    }

    /// Skips a nullable varint-prefixed byte field.
    #[inline]
    pub(crate) fn skip_bytes(&mut self, what: &'static str) -> Result<Option<usize>, DecodeError> {
        let length = self.length(what)?;
        self.pos += length.unwrap_or(0);
        Ok(length)
    }
}
