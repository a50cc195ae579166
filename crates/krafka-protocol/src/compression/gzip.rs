//! gzip, as Java's `GZIPOutputStream`/`GZIPInputStream` read and write it.
//!
//! Kafka wraps the records section in a full gzip stream (header, deflate data, CRC32 and
//! length trailer), not a bare deflate or zlib stream. Decoding accepts concatenated gzip
//! members, as Java's reader does.

use bytes::{BufMut, Bytes, BytesMut};
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use std::io::Write;

use super::codec::{CompressionCodec, read_bounded};
use crate::{DecodeError, EncodeError};

const NAME: &str = "gzip";

/// The built-in gzip codec (flate2).
///
/// Levels are zlib's: 0 (store) to 9 (smallest). `None` and -1 mean zlib's default (6), which
/// is what Kafka's default `compression.gzip.level` of -1 selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct GzipCodec;

fn to_flate2(level: Option<i32>) -> Result<flate2::Compression, EncodeError> {
    match level {
        None | Some(-1) => Ok(flate2::Compression::default()),
        Some(l @ 0..=9) => Ok(flate2::Compression::new(l.unsigned_abs())),
        Some(l) => Err(EncodeError::InvalidCompressionLevel {
            codec: NAME,
            level: l,
        }),
    }
}

impl CompressionCodec for GzipCodec {
    fn compress(
        &self,
        input: &[u8],
        level: Option<i32>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let level = to_flate2(level)?;
        // Compressed output is usually well under half the input; reserving that avoids most
        // regrowth without over-committing for incompressible data.
        out.reserve(input.len() / 2 + 64);
        let mut encoder = GzEncoder::new(out.writer(), level);
        encoder
            .write_all(input)
            .and_then(|()| encoder.try_finish())
            .map_err(|_| EncodeError::Compression { codec: NAME })
    }

    fn decompress(&self, input: &[u8], max_output: usize) -> Result<Bytes, DecodeError> {
        if input.is_empty() {
            return Err(DecodeError::Decompression { codec: NAME });
        }
        // The trailer's ISIZE (uncompressed length mod 2^32 of the last member) is a good
        // first guess for the output buffer; `read_bounded` caps it at the limit.
        let hint = input
            .len()
            .checked_sub(4)
            .and_then(|at| input.get(at..))
            .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
            .map_or(0, |isize| u32::from_le_bytes(isize) as usize);
        read_bounded(
            MultiGzDecoder::new(input),
            max_output,
            hint,
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
        GzipCodec.compress(input, level, &mut out).unwrap();
        out.freeze()
    }

    #[test]
    fn round_trip_at_every_level() {
        let input = sample(100_000);
        for level in [None, Some(-1), Some(0), Some(1), Some(6), Some(9)] {
            let packed = compress(&input, level);
            assert_eq!(&packed[..2], &[0x1f, 0x8b], "gzip magic");
            let back = GzipCodec.decompress(&packed, input.len()).unwrap();
            assert_eq!(&back[..], &input[..]);
        }
        assert!(compress(&input, Some(9)).len() < compress(&input, Some(0)).len());
    }

    #[test]
    fn invalid_levels_are_rejected() {
        for level in [-2, 10, i32::MIN, i32::MAX] {
            assert_eq!(
                GzipCodec.compress(b"x", Some(level), &mut BytesMut::new()),
                Err(EncodeError::InvalidCompressionLevel { codec: NAME, level })
            );
        }
    }

    #[test]
    fn concatenated_members_decode() {
        let mut both = compress(b"hello ", None).to_vec();
        both.extend_from_slice(&compress(b"world", None));
        assert_eq!(
            &GzipCodec.decompress(&both, 100).unwrap()[..],
            b"hello world"
        );
    }

    #[test]
    fn limit_is_exact() {
        let input = sample(1000);
        let packed = compress(&input, None);
        assert!(GzipCodec.decompress(&packed, 1000).is_ok());
        assert_eq!(
            GzipCodec.decompress(&packed, 999),
            Err(DecodeError::DecompressedTooLarge { max: 999 })
        );
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let packed = compress(&sample(10_000), None);
        assert!(GzipCodec.decompress(&[], 100).is_err());
        assert!(GzipCodec.decompress(b"not gzip at all", 100).is_err());
        for cut in [1, 10, packed.len() / 2, packed.len() - 1] {
            assert!(
                GzipCodec.decompress(&packed[..cut], 100_000).is_err(),
                "{cut}"
            );
        }
        let mut flipped = packed.to_vec();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        assert!(GzipCodec.decompress(&flipped, 100_000).is_err());
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        // 1 GiB of zeros: 1024 gzip members of 1 MiB each, built from one compressed member.
        let member = compress(&vec![0u8; 1 << 20], Some(9));
        let bomb: Vec<u8> = member
            .iter()
            .copied()
            .cycle()
            .take(member.len() * 1024)
            .collect();
        let started = Instant::now();
        assert_eq!(
            GzipCodec.decompress(&bomb, 1 << 20),
            Err(DecodeError::DecompressedTooLarge { max: 1 << 20 })
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
