//! LZ4, in the standard LZ4 frame format Kafka uses since message format v1.
//!
//! Java's `KafkaLZ4BlockOutputStream` writes a frame with independent 64 KiB blocks and no
//! block or content checksums, and its reader handles only independent blocks; we write
//! exactly that shape. librdkafka writes standard frames (sometimes with a content size or a
//! content checksum), which the decoder accepts.
//!
//! Message format v0 predates Kafka's fix of KAFKA-3160: its writers computed the frame
//! header checksum over the magic number too. [`fix_legacy_header_checksum`] repairs that
//! before such a frame reaches a standard decoder.

use bytes::{BufMut, Bytes, BytesMut};
use lz4_flex::frame::{BlockMode, BlockSize, FrameDecoder, FrameEncoder, FrameInfo};
use std::io::Write;

use super::codec::{CompressionCodec, read_bounded_buffered};
use crate::{DecodeError, EncodeError};

const NAME: &str = "lz4";

/// The built-in LZ4 codec (lz4_flex).
///
/// lz4_flex implements only LZ4's fast mode, so the level (Kafka's `compression.lz4.level`)
/// is ignored; every level produces bytes any LZ4 decoder reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lz4Codec;

impl CompressionCodec for Lz4Codec {
    fn compress(
        &self,
        input: &[u8],
        _level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        // Fixed 64 KiB blocks rather than lz4_flex's size-dependent default: it is what Kafka
        // writes, and it bounds the decoder buffers every reader must allocate.
        let info = FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .block_mode(BlockMode::Independent);
        out.reserve(input.len() / 2 + 64);
        let mut encoder = FrameEncoder::with_frame_info(info, out.writer());
        encoder
            .write_all(input)
            .map_err(|_| EncodeError::Compression { codec: NAME })?;
        encoder
            .finish()
            .map(drop)
            .map_err(|_| EncodeError::Compression { codec: NAME })
    }

    fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError> {
        if input.len() < 7 {
            // Shorter than the smallest frame header; lz4_flex reads that as an empty stream.
            return Err(DecodeError::Decompression { codec: NAME });
        }
        check_complete(input, max_output)?;
        // LZ4 compresses at most ~255:1; a few times the input is a sane first guess.
        let hint = input.len().saturating_mul(4);
        read_bounded_buffered(
            FrameDecoder::new(input),
            max_output,
            hint,
            input.len(),
            NAME,
        )
    }
}

/// Checks that `input` is a whole number of complete standard LZ4 frames.
///
/// lz4_flex's reader takes input that ends between two blocks for a clean end of data, which
/// would turn a truncated batch into a shorter one. Walking the block headers (not the data)
/// finds that before decoding. Anything that is not a standard frame is left to the decoder.
fn check_complete(input: &[u8], max_output: usize) -> Result<(), DecodeError> {
    const MAGIC: u32 = 0x184d_2204;
    const FLG_BLOCK_CHECKSUM: u8 = 0x10;
    const FLG_CONTENT_SIZE: u8 = 0x08;
    const FLG_CONTENT_CHECKSUM: u8 = 0x04;
    const FLG_DICT_ID: u8 = 0x01;
    let truncated = DecodeError::Decompression { codec: NAME };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes = input.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    let mut pos = 0;
    while pos < input.len() {
        if u32_at(pos).ok_or(truncated)? != MAGIC {
            return Ok(());
        }
        let flg = *input.get(pos + 4).ok_or(truncated)?;
        // The decoder reserves buffers of the declared block size (up to 4 MiB, about twice
        // over) before it produces a byte. Blocks up to 1 MiB are always accepted (Kafka and
        // librdkafka write 64 KiB); larger ones only when the output limit is at least half
        // the block, so a tiny frame cannot make a small-limit decoder reserve 12 MiB.
        let block_max = match input.get(pos + 5).map(|bd| (bd >> 4) & 0x07) {
            Some(4) => 64 << 10,
            Some(5) => 256 << 10,
            Some(6) => 1 << 20,
            Some(7) => 4 << 20,
            _ => return Err(truncated),
        };
        if block_max > max_output.saturating_mul(2).max(1 << 20) {
            return Err(DecodeError::DecompressedTooLarge { max: max_output });
        }
        pos += 7;
        if flg & FLG_CONTENT_SIZE != 0 {
            pos += 8;
        }
        if flg & FLG_DICT_ID != 0 {
            pos += 4;
        }
        let block_checksum = if flg & FLG_BLOCK_CHECKSUM != 0 { 4 } else { 0 };
        loop {
            let size = u32_at(pos).ok_or(truncated)?;
            pos += 4;
            if size == 0 {
                break;
            }
            pos = pos
                .checked_add((size & 0x7fff_ffff) as usize + block_checksum)
                .ok_or(truncated)?;
        }
        if flg & FLG_CONTENT_CHECKSUM != 0 {
            pos += 4;
        }
        if pos > input.len() {
            return Err(truncated);
        }
    }
    Ok(())
}

/// Returns a copy of a magic-0 LZ4 frame with a correct header checksum.
///
/// Kafka's v0 writers hashed the frame descriptor together with the 4-byte magic number, and
/// Kafka's reader skips the check for v0 messages. A standard decoder does check it, so the
/// byte is recomputed here (over the descriptor only, as the LZ4 frame format specifies).
/// Returns `None` when the input is too short to hold a frame header.
pub(crate) fn fix_legacy_header_checksum(frame: &[u8]) -> Option<Vec<u8>> {
    const FLG_CONTENT_SIZE: u8 = 0x08;
    const FLG_DICT_ID: u8 = 0x01;
    let flg = *frame.get(4)?;
    let mut descriptor_len = 2;
    if flg & FLG_CONTENT_SIZE != 0 {
        descriptor_len += 8;
    }
    if flg & FLG_DICT_ID != 0 {
        descriptor_len += 4;
    }
    let descriptor = frame.get(4..4 + descriptor_len)?;
    let checksum = (xxh32_short(descriptor) >> 8) as u8;
    let mut fixed = frame.to_vec();
    *fixed.get_mut(4 + descriptor_len)? = checksum;
    Some(fixed)
}

/// XXH32 with seed 0, for inputs under 16 bytes (a frame descriptor is at most 14).
fn xxh32_short(input: &[u8]) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    debug_assert!(input.len() < 16);
    let mut h = P5.wrapping_add(input.len() as u32);
    let mut words = input.chunks_exact(4);
    for word in &mut words {
        let mut lane = [0u8; 4];
        lane.copy_from_slice(word);
        h = h.wrapping_add(u32::from_le_bytes(lane).wrapping_mul(P3));
        h = h.rotate_left(17).wrapping_mul(P4);
    }
    for &byte in words.remainder() {
        h = h.wrapping_add(u32::from(byte).wrapping_mul(P5));
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::codec::sample;
    use std::time::{Duration, Instant};

    fn compress(input: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        Lz4Codec.compress(input, Some(9), &mut out).unwrap();
        out.freeze()
    }

    #[test]
    fn round_trip() {
        for len in [0, 1, 65_535, 65_536, 65_537, 300_000] {
            let input = sample(len);
            let packed = compress(&input);
            let back = Lz4Codec.decompress(&packed, len).unwrap();
            assert_eq!(&back[..], &input[..], "{len}");
        }
    }

    #[test]
    fn writes_the_frame_shape_kafka_reads() {
        let packed = compress(&sample(200_000));
        assert_eq!(&packed[..4], &[0x04, 0x22, 0x4d, 0x18], "frame magic");
        // FLG: version 01, independent blocks, no checksums, no content size, no dict id.
        assert_eq!(packed[4], 0b0110_0000);
        // BD: 64 KiB maximum block size.
        assert_eq!(packed[5], 0x40);
        assert_eq!(
            &packed[packed.len() - 4..],
            &[0, 0, 0, 0],
            "end mark, no checksum"
        );
    }

    #[test]
    fn block_sizes_far_beyond_the_limit_are_refused_before_decoding() {
        let input = sample(1000);
        let info = FrameInfo::new().block_size(BlockSize::Max4MB);
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(&input).unwrap();
        let packed = encoder.finish().unwrap();
        assert_eq!(
            Lz4Codec.decompress(&packed, 1000),
            Err(DecodeError::DecompressedTooLarge { max: 1000 })
        );
        assert_eq!(
            &Lz4Codec.decompress(&packed, 2 << 20).unwrap()[..],
            &input[..]
        );
    }

    #[test]
    fn frames_with_checksums_and_content_size_decode() {
        // The options librdkafka and the lz4 C library may set.
        let input = sample(150_000);
        let info = FrameInfo::new()
            .block_size(BlockSize::Max256KB)
            .block_checksums(true)
            .content_checksum(true)
            .content_size(Some(input.len() as u64));
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(&input).unwrap();
        let packed = encoder.finish().unwrap();
        assert_eq!(
            &Lz4Codec.decompress(&packed, input.len()).unwrap()[..],
            &input[..]
        );
    }

    #[test]
    fn header_checksum_matches_lz4_flex() {
        let input = sample(1000);
        for content_size in [None, Some(1000)] {
            let info = FrameInfo::new().content_size(content_size);
            let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
            encoder.write_all(&input).unwrap();
            let good = encoder.finish().unwrap();
            let hc_at = if content_size.is_some() { 14 } else { 6 };
            let mut broken = good.clone();
            broken[hc_at] ^= 0xff;
            assert!(Lz4Codec.decompress(&broken, 1000).is_err());
            assert_eq!(fix_legacy_header_checksum(&broken).unwrap(), good);
        }
        assert_eq!(
            fix_legacy_header_checksum(&[4, 0x22, 0x4d, 0x18, 0x60]),
            None
        );
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let packed = compress(&sample(100_000));
        assert!(Lz4Codec.decompress(&[], 100).is_err());
        assert!(Lz4Codec.decompress(b"definitely not lz4", 100).is_err());
        for cut in 1..packed.len() {
            assert!(
                Lz4Codec.decompress(&packed[..cut], 1 << 20).is_err(),
                "{cut}"
            );
        }
        let mut flipped = packed.to_vec();
        for byte in &mut flipped[11..60] {
            *byte ^= 0xa5;
        }
        assert!(Lz4Codec.decompress(&flipped, 1 << 20).is_err());
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        // 1 GiB of zeros: a frame header, one compressed 64 KiB block repeated 16384 times,
        // and the end mark, built from a single-block frame.
        let one = compress(&[0u8; 65_536]);
        let (header, rest) = one.split_at(7);
        let block = &rest[..rest.len() - 4];
        let mut bomb = header.to_vec();
        for _ in 0..(1 << 30) / 65_536 {
            bomb.extend_from_slice(block);
        }
        bomb.extend_from_slice(&[0, 0, 0, 0]);
        let started = Instant::now();
        assert_eq!(
            Lz4Codec.decompress(&bomb, 1 << 20),
            Err(DecodeError::DecompressedTooLarge { max: 1 << 20 })
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
