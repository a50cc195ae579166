//! Zstandard (Kafka 2.1+, record batches of magic 2 only).
//!
//! Java writes zstd-jni's streaming frames; any standard zstd frame, or several concatenated,
//! is valid. Decoding streams into a bounded buffer rather than trusting the frame's declared
//! content size, which a hostile peer controls (or omits).
//!
//! Memory stays near the caller's limit. A frame whose declared content size fits the limit
//! and is believable for its input is decompressed in one shot into a buffer of exactly that
//! size (no window buffer at all). Otherwise it streams, with the decoder's window capped at
//! the limit rounded up to a power of two, between 8 MiB (the largest window zstd's levels up
//! to 19 pick for data of unknown size) and zstd's default 128 MiB: a frame may not make the
//! decoder reserve a window far larger than the output it is allowed to produce.

use bytes::{BufMut, Bytes, BytesMut};
use std::io::Write;
use zstd::stream::read::Decoder;
use zstd::stream::write::Encoder;

use super::codec::{CompressionCodec, PLAUSIBLE_EXPANSION, read_bounded};
use crate::{DecodeError, EncodeError};

const NAME: &str = "zstd";

/// Kafka's default `compression.zstd.level`.
const DEFAULT_LEVEL: i32 = 3;

/// The built-in zstd codec (the zstd C library). Levels are zstd's (negative for faster
/// modes, up to 22); `None` is Kafka's default, 3.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZstdCodec;

impl CompressionCodec for ZstdCodec {
    fn compress(
        &self,
        input: &[u8],
        level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let level = level.unwrap_or(DEFAULT_LEVEL);
        if !zstd::compression_level_range().contains(&level) {
            return Err(EncodeError::InvalidCompressionLevel { codec: NAME, level });
        }
        let err = |_| EncodeError::Compression { codec: NAME };
        out.reserve(input.len() / 2 + 64);
        let mut encoder = Encoder::new(out.writer(), level).map_err(err)?;
        // Declaring the size up front lets zstd pick a window no larger than the input and
        // record the content size, which spares every reader memory.
        encoder
            .set_pledged_src_size(Some(input.len() as u64))
            .map_err(err)?;
        encoder.include_contentsize(true).map_err(err)?;
        encoder.write_all(input).map_err(err)?;
        encoder.finish().map(drop).map_err(err)
    }

    fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError> {
        const MIN_WINDOW_LOG: u32 = 23;
        const MAX_WINDOW_LOG: u32 = 27;
        let corrupt = DecodeError::Decompression { codec: NAME };
        if input.is_empty() {
            return Err(corrupt);
        }
        let declared = zstd::zstd_safe::get_frame_content_size(input)
            .ok()
            .flatten()
            .and_then(|size| usize::try_from(size).ok());
        let believable = input.len().saturating_mul(PLAUSIBLE_EXPANSION);
        if let Some(size) = declared.filter(|size| *size <= max_output && *size <= believable) {
            // Several concatenated frames need more room than the first declares; the one-shot
            // call then fails cleanly and the streaming path below handles them.
            if let Ok(out) = zstd::bulk::decompress(input, size) {
                return Ok(Bytes::from(out));
            }
        }
        let window_log = usize::BITS - max_output.saturating_sub(1).leading_zeros();
        let mut decoder = Decoder::with_buffer(input).map_err(|_| corrupt)?;
        decoder
            .window_log_max(window_log.clamp(MIN_WINDOW_LOG, MAX_WINDOW_LOG))
            .map_err(|_| corrupt)?;
        read_bounded(
            decoder,
            max_output,
            declared.unwrap_or(0),
            input.len(),
            NAME,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::codec::sample;
    use std::time::{Duration, Instant};

    fn compress(input: &[u8], level: Option<i32>) -> Bytes {
        let mut out = BytesMut::new();
        ZstdCodec.compress(input, level, &mut out).unwrap();
        out.freeze()
    }

    #[test]
    fn round_trip_at_several_levels() {
        let input = sample(200_000);
        for level in [None, Some(-5), Some(1), Some(3), Some(19)] {
            let packed = compress(&input, level);
            let back = ZstdCodec.decompress(&packed, input.len()).unwrap();
            assert_eq!(&back[..], &input[..], "{level:?}");
        }
        assert!(compress(&input, Some(19)).len() <= compress(&input, Some(-5)).len());
    }

    #[test]
    fn invalid_levels_are_rejected() {
        assert!(matches!(
            ZstdCodec.compress(b"x", Some(23), &mut BytesMut::new()),
            Err(EncodeError::InvalidCompressionLevel { level: 23, .. })
        ));
    }

    #[test]
    fn streaming_frames_without_content_size_decode() {
        // What zstd-jni's output stream writes: no content size in the frame header.
        let input = sample(100_000);
        let packed = zstd::stream::encode_all(&input[..], 3).unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&packed).ok(),
            Some(None)
        );
        assert_eq!(
            &ZstdCodec.decompress(&packed, input.len()).unwrap()[..],
            &input[..]
        );
        let mut two = packed.clone();
        two.extend_from_slice(&packed);
        assert_eq!(ZstdCodec.decompress(&two, 1 << 20).unwrap().len(), 200_000);
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let packed = compress(&sample(100_000), None);
        assert!(ZstdCodec.decompress(&[], 100).is_err());
        assert!(ZstdCodec.decompress(b"no zstd magic here", 100).is_err());
        for cut in [1, 4, 8, packed.len() / 2, packed.len() - 1] {
            assert!(
                ZstdCodec.decompress(&packed[..cut], 1 << 20).is_err(),
                "{cut}"
            );
        }
        let mut flipped = packed.to_vec();
        for byte in &mut flipped[20..40] {
            *byte ^= 0xa5;
        }
        assert!(ZstdCodec.decompress(&flipped, 1 << 20).is_err());
    }

    #[test]
    fn lying_content_size_is_not_trusted() {
        let input = sample(10_000);
        let packed = compress(&input, None);
        assert_eq!(
            ZstdCodec.decompress(&packed, 9_999),
            Err(DecodeError::DecompressedTooLarge { max: 9_999 })
        );
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        // 1 GiB of zeros: one frame of 1 MiB, concatenated 1024 times.
        let frame = compress(&vec![0u8; 1 << 20], Some(19));
        let bomb: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(frame.len() * 1024)
            .collect();
        let started = Instant::now();
        assert_eq!(
            ZstdCodec.decompress(&bomb, 1 << 20),
            Err(DecodeError::DecompressedTooLarge { max: 1 << 20 })
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
