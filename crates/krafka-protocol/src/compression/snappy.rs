//! Snappy, in the two shapes Kafka clients put on the wire.
//!
//! Java's producer writes snappy-java's "xerial" framing: a 16-byte header (`\x82SNAPPY\0`,
//! version 1, compatible version 1, both big-endian `i32`) followed by blocks of
//! `[i32 BE compressed length][raw snappy block]`, each block holding at most 32 KiB of input.
//! librdkafka writes one raw snappy block with no framing, and Java's reader falls back to
//! that when the magic is absent, so decoding accepts both. We encode xerial, which every
//! client can read.
//!
//! Raw snappy declares its uncompressed length up front; every declared length is checked
//! against the output bound before anything is allocated.

use bytes::{Bytes, BytesMut};
use snap::raw::{Decoder, Encoder, decompress_len, max_compress_len};

use super::codec::CompressionCodec;
use crate::{DecodeError, EncodeError};

const NAME: &str = "snappy";

/// The xerial stream header: magic, version 1, minimum compatible version 1.
const XERIAL_HEADER: [u8; 16] = *b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01";
/// The magic alone; the version fields are not checked, as in snappy-java.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\0";
/// snappy-java's default block size, which Kafka uses.
const BLOCK_SIZE: usize = 32 * 1024;

/// The built-in snappy codec (snap). Snappy has no levels; the level is ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnappyCodec;

impl CompressionCodec for SnappyCodec {
    fn compress(
        &self,
        input: &[u8],
        _level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let err = EncodeError::Compression { codec: NAME };
        out.extend_from_slice(&XERIAL_HEADER);
        let mut encoder = Encoder::new();
        for block in input.chunks(BLOCK_SIZE) {
            let length_at = out.len();
            let block_at = length_at + 4;
            // The block is compressed in place at the end of `out`: grow by the worst case,
            // then cut back to what was written.
            out.resize(block_at + max_compress_len(block.len()), 0);
            let written = encoder
                .compress(block, &mut out[block_at..])
                .map_err(|_| err)?;
            out.truncate(block_at + written);
            let written = i32::try_from(written).map_err(|_| err)?;
            out[length_at..block_at].copy_from_slice(&written.to_be_bytes());
        }
        Ok(())
    }

    fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError> {
        if input.starts_with(XERIAL_MAGIC) {
            decompress_xerial(input, max_output)
        } else if input.is_empty() {
            // snappy-java reads an empty stream as empty.
            Ok(Bytes::new())
        } else {
            decompress_raw(input, max_output)
        }
    }
}

fn corrupt() -> DecodeError {
    DecodeError::Decompression { codec: NAME }
}

/// The raw snappy length of one block, checked against what may still be produced.
fn checked_len(block: &[u8], budget: usize, max: usize) -> Result<usize, DecodeError> {
    // Snappy's densest element, a 3-byte copy of 64 bytes, expands about 21 times: a block
    // declaring more than 32 times its size is corrupt, and is refused before its output
    // buffer is allocated.
    const MAX_EXPANSION: usize = 32;
    let len = decompress_len(block).map_err(|_| corrupt())?;
    if len > block.len().saturating_mul(MAX_EXPANSION) {
        return Err(corrupt());
    }
    if len > budget {
        return Err(DecodeError::DecompressedTooLarge { max });
    }
    Ok(len)
}

fn decompress_raw(input: &[u8], max: usize) -> Result<Bytes, DecodeError> {
    let len = checked_len(input, max, max)?;
    let mut out = vec![0; len];
    let written = Decoder::new()
        .decompress(input, &mut out)
        .map_err(|_| corrupt())?;
    if written != len {
        return Err(corrupt());
    }
    Ok(Bytes::from(out))
}

/// Splits the next xerial block off `rest`, skipping the header of a concatenated stream
/// (snappy-java reads those too). `None` at the end of the input.
fn next_block<'a>(rest: &mut &'a [u8]) -> Result<Option<&'a [u8]>, DecodeError> {
    loop {
        if rest.is_empty() {
            return Ok(None);
        }
        if rest.starts_with(XERIAL_MAGIC) {
            *rest = rest.get(XERIAL_HEADER.len()..).ok_or_else(corrupt)?;
            continue;
        }
        let (length, tail) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let length = usize::try_from(i32::from_be_bytes(*length)).map_err(|_| corrupt())?;
        if length > tail.len() {
            return Err(corrupt());
        }
        let (block, tail) = tail.split_at(length);
        *rest = tail;
        return Ok(Some(block));
    }
}

fn decompress_xerial(input: &[u8], max: usize) -> Result<Bytes, DecodeError> {
    // First pass: read every block's declared length (cheap: a varint each) so the output is
    // allocated once, at its exact size, and only after the total is known to fit.
    let mut total = 0usize;
    let mut rest = input;
    while let Some(block) = next_block(&mut rest)? {
        total += checked_len(block, max - total, max)?;
    }
    let mut out = vec![0; total];
    let mut at = 0;
    let mut decoder = Decoder::new();
    let mut rest = input;
    while let Some(block) = next_block(&mut rest)? {
        let len = decompress_len(block).map_err(|_| corrupt())?;
        let dst = out.get_mut(at..at + len).ok_or_else(corrupt)?;
        let written = decoder.decompress(block, dst).map_err(|_| corrupt())?;
        if written != len {
            return Err(corrupt());
        }
        at += len;
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::codec::sample;
    use std::time::{Duration, Instant};

    fn compress(input: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        SnappyCodec.compress(input, None, &mut out).unwrap();
        out.freeze()
    }

    #[test]
    fn round_trip_in_xerial_framing() {
        for len in [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 200_000] {
            let input = sample(len);
            let packed = compress(&input);
            assert_eq!(&packed[..16], &XERIAL_HEADER);
            let back = SnappyCodec.decompress(&packed, len).unwrap();
            assert_eq!(&back[..], &input[..]);
        }
    }

    #[test]
    fn blocks_hold_32_kib_of_input() {
        let input = sample(BLOCK_SIZE * 2 + 10);
        let packed = compress(&input);
        let mut rest = &packed[..];
        let mut sizes = Vec::new();
        while let Some(block) = next_block(&mut rest).unwrap() {
            sizes.push(decompress_len(block).unwrap());
        }
        assert_eq!(sizes, [BLOCK_SIZE, BLOCK_SIZE, 10]);
    }

    #[test]
    fn matches_snappy_java_bytes() {
        // The xerial framing of a tiny records section (one record, null key, value
        // "sdfdsf"), laid out by hand: header, one block length, then the raw snappy block.
        let java = b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01\0\0\0\x0f\x0d\x30\x18\0\0\0\x01\x0csdfdsf\0";
        let raw = b"\x18\0\0\0\x01\x0csdfdsf\0";
        assert_eq!(&SnappyCodec.decompress(java, 100).unwrap()[..], raw);
        assert_eq!(&compress(raw)[..], java);
    }

    #[test]
    fn raw_snappy_decodes() {
        // librdkafka's shape: one raw block, no framing.
        let input = sample(100_000);
        let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert_eq!(
            &SnappyCodec.decompress(&raw, input.len()).unwrap()[..],
            &input[..]
        );
        assert_eq!(
            SnappyCodec.decompress(&raw, input.len() - 1),
            Err(DecodeError::DecompressedTooLarge {
                max: input.len() - 1
            })
        );
    }

    #[test]
    fn concatenated_xerial_streams_decode() {
        let mut both = compress(b"hello ").to_vec();
        both.extend_from_slice(&compress(b"world"));
        assert_eq!(
            &SnappyCodec.decompress(&both, 100).unwrap()[..],
            b"hello world"
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let packed = compress(&sample(100_000));
        for cut in [5, 17, 19, 20, packed.len() / 2, packed.len() - 1] {
            assert!(
                SnappyCodec.decompress(&packed[..cut], 1 << 20).is_err(),
                "{cut}"
            );
        }
        let mut bad_length = packed.to_vec();
        bad_length[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(SnappyCodec.decompress(&bad_length, 1 << 20).is_err());
        let mut flipped = packed.to_vec();
        for byte in &mut flipped[21..40] {
            *byte ^= 0xa5;
        }
        assert!(SnappyCodec.decompress(&flipped, 1 << 20).is_err());
        assert!(SnappyCodec.decompress(&[0xff; 12], 1 << 20).is_err());
    }

    #[test]
    fn declared_lengths_are_checked_before_allocating() {
        // A raw block declaring 4 GiB - 1 of output, with nothing behind it: more than
        // snappy can expand to, so corrupt, and refused before any allocation.
        let lie = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(
            SnappyCodec.decompress(&lie, 1 << 20),
            Err(DecodeError::Decompression { codec: NAME })
        );
        // A believable length above the limit is refused as too large, also before decoding.
        let zeros = snap::raw::Encoder::new()
            .compress_vec(&[0u8; 4000])
            .unwrap();
        assert_eq!(
            SnappyCodec.decompress(&zeros, 1000),
            Err(DecodeError::DecompressedTooLarge { max: 1000 })
        );
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        // 1 GiB of zeros in xerial framing: one compressed 32 KiB block, repeated.
        let block = snap::raw::Encoder::new()
            .compress_vec(&[0u8; BLOCK_SIZE])
            .unwrap();
        let mut bomb = XERIAL_HEADER.to_vec();
        for _ in 0..(1 << 30) / BLOCK_SIZE {
            bomb.extend_from_slice(&(block.len() as i32).to_be_bytes());
            bomb.extend_from_slice(&block);
        }
        let started = Instant::now();
        assert_eq!(
            SnappyCodec.decompress(&bomb, 1 << 20),
            Err(DecodeError::DecompressedTooLarge { max: 1 << 20 })
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
