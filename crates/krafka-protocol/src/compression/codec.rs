//! The codec extension point and what every codec shares: bounded decompression, so that a
//! few kilobytes of hostile input never become gigabytes of memory.

use std::fmt;
use std::io::{BufRead, Read};

use bytes::{Bytes, BytesMut};

use crate::{DecodeError, EncodeError};

/// A compression codec implementation.
///
/// The built-ins cover every codec Kafka defines; implement this to swap one for something
/// else (a buffer pool, a hardware engine, a faster library) and register it with
/// [`Codecs::with`](super::Codecs::with). The codec supplies its own output buffer on decompression so that such
/// implementations can decide where the bytes live.
pub trait CompressionCodec: Send + Sync + fmt::Debug {
    /// Compresses `input` and appends the result to `out`. `level` is the configured level, or
    /// `None` for the codec's default; codecs without levels ignore it.
    fn compress(
        &self,
        input: &[u8],
        level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError>;

    /// Decompresses `input`, which came from the network and may be hostile.
    ///
    /// Must fail with [`DecodeError::DecompressedTooLarge`] as soon as the output would exceed
    /// `max_output` bytes, and must not allocate much beyond that bound on the way.
    fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError>;
}

/// How far a size an input claims for its output is believed, as a multiple of the input's
/// length: real data rarely expands past this, and a hint beyond it only sizes the first
/// allocation, which then grows as output actually arrives.
pub(super) const PLAUSIBLE_EXPANSION: usize = 64;

/// A decompression output buffer that never holds more than `max` bytes and never reserves
/// more than `max + 1`: it grows by explicit, about-doubling reservations capped at the bound,
/// so neither a bomb nor an output of exactly a power of two can make it reserve twice the
/// limit.
struct BoundedOutput {
    out: Vec<u8>,
    max: usize,
}

impl BoundedOutput {
    /// `size_hint` (a length the input claims) sizes the first allocation only as far as
    /// [`PLAUSIBLE_EXPANSION`] of `input_len` makes believable.
    fn new(max: usize, size_hint: usize, input_len: usize) -> Self {
        const MAX_INITIAL: usize = 4 * 1024 * 1024;
        let believable = input_len.saturating_mul(PLAUSIBLE_EXPANSION).max(64 * 1024);
        let initial = size_hint.min(believable).min(max).min(MAX_INITIAL);
        Self {
            out: Vec::with_capacity(initial),
            max,
        }
    }

    /// Appends `data`, failing once the output would pass the bound.
    #[inline]
    fn extend(&mut self, data: &[u8]) -> Result<(), DecodeError> {
        let needed = self.out.len().saturating_add(data.len());
        if needed > self.max {
            return Err(DecodeError::DecompressedTooLarge { max: self.max });
        }
        if needed > self.out.capacity() {
            let target = (self.out.len().saturating_mul(2))
                .max(needed)
                .max(64 * 1024)
                .min(self.max);
            self.out.reserve_exact(target - self.out.len());
        }
        self.out.extend_from_slice(data);
        Ok(())
    }

    fn finish(mut self) -> Bytes {
        // A hint that was a lie (the output is a small fraction of it) would leave its slack
        // allocated as long as any record of the batch lives, so it is trimmed. Ordinary
        // overestimates are kept: trimming makes the allocator hand the pages back to the OS,
        // and every following batch then faults them in again (measured: 2.4x slower lz4).
        let slack = self.out.capacity() - self.out.len();
        if slack > self.out.len().saturating_mul(3) && slack > 1024 * 1024 {
            self.out.shrink_to_fit();
        }
        Bytes::from(self.out)
    }
}

/// Reads a decompressing reader to its end within `max` bytes of output (see
/// [`BoundedOutput`]), through a 16 KiB buffer so the output is never zeroed first.
pub(crate) fn read_bounded<R: Read>(
    reader: R,
    max: usize,
    size_hint: usize,
    input_len: usize,
    codec: &'static str,
) -> Result<Bytes, DecodeError> {
    let buffered = std::io::BufReader::with_capacity(16 * 1024, reader);
    read_bounded_buffered(buffered, max, size_hint, input_len, codec)
}

/// [`read_bounded`] for decoders that expose their own output buffer (`BufRead`): each decoded
/// block is copied once, straight into the output.
pub(crate) fn read_bounded_buffered<R: BufRead>(
    mut reader: R,
    max: usize,
    size_hint: usize,
    input_len: usize,
    codec: &'static str,
) -> Result<Bytes, DecodeError> {
    let mut out = BoundedOutput::new(max, size_hint, input_len);
    loop {
        let data = match reader.fill_buf() {
            Ok([]) => break,
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(DecodeError::Decompression { codec }),
        };
        let n = data.len();
        out.extend(data)?;
        reader.consume(n);
    }
    Ok(out.finish())
}

#[cfg(test)]
/// Data that compresses, but not trivially: repeated text with a counter in it.
pub(crate) fn sample(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(format!("record {i} of the sample payload; ").as_bytes());
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 40;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Endless zeros that remember the largest buffer they were offered.
    struct Zeros {
        largest: usize,
    }

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            buf.fill(0);
            Ok(buf.len())
        }
    }

    #[test]
    fn bounded_reads_never_offer_more_than_the_limit() {
        let mut zeros = Zeros { largest: 0 };
        let max = 300_000;
        let result = read_bounded(&mut zeros, max, usize::MAX, 10, "test");
        assert_eq!(result, Err(DecodeError::DecompressedTooLarge { max }));
        assert!(zeros.largest <= max + 1, "offered {} bytes", zeros.largest);
        // Exactly the limit, with a lying hint, succeeds.
        let out = read_bounded(&[7u8; 4096][..], 4096, 1 << 30, 16, "test").unwrap();
        assert_eq!(out.len(), 4096);
    }

    #[test]
    fn the_output_buffer_never_reserves_past_the_bound() {
        let max = 1_000_000;
        let mut out = BoundedOutput::new(max, 0, 10);
        let chunk = [1u8; 7_000];
        while out.extend(&chunk).is_ok() {
            assert!(out.out.capacity() <= max, "capacity {}", out.out.capacity());
        }
        assert!(out.out.len() <= max);
        assert_eq!(
            out.extend(&chunk),
            Err(DecodeError::DecompressedTooLarge { max })
        );
        // An exact fit does not grow.
        let mut exact = BoundedOutput::new(100_000, 100_000, 100_000);
        exact.extend(&[0u8; 100_000]).unwrap();
        assert_eq!(exact.out.capacity(), 100_000);
    }
}
