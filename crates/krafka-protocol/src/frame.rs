//! Kafka's framing: every request and response is a 4-byte big-endian length, then that many
//! bytes.
//!
//! This module owns the one place where a peer-declared size meets memory. [`FrameDecoder`]
//! checks the length prefix against a configurable maximum *before* it buffers or reserves
//! anything, so a hostile or corrupt prefix (`0x7fffffff`) is refused at once; below the
//! maximum, the buffer grows only in step with the bytes that actually arrive.
//! Complete frames are split off the read buffer without copying. The encoding helpers write the
//! prefix for a body whose size the caller has already computed, which is how the generated
//! codecs work (size first, then one exact write).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{DecodeError, EncodeError};

/// The size of a frame's length prefix, in bytes.
pub const LENGTH_PREFIX_SIZE: usize = 4;

/// The least a partial frame's buffer grows by at a time.
const MIN_RESERVE: usize = 64 * 1024;

/// The default largest frame body a [`FrameDecoder`] accepts: 100 MiB.
///
/// This is the broker's own default for `socket.request.max.bytes` (104,857,600), so nothing a
/// default-configured broker accepts is refused here. Responses are bounded by what the client
/// asked for (`fetch.max.bytes` defaults to 50 MiB), so a larger frame from a broker means a
/// misconfiguration or a corrupt stream, not data we want to buffer.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Splits complete frames off a growing read buffer.
///
/// Feed it the connection's read buffer after every read; it returns one frame body per call
/// until the buffer holds no complete frame. It keeps no state between calls beyond its limit,
/// so the buffer is the only place partial frames live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frame bodies larger than `max_frame_size` bytes.
    pub const fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The largest frame body this decoder accepts, in bytes.
    pub const fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Takes the next complete frame body off the front of `buf`.
    ///
    /// Returns `Ok(Some(body))` for a complete frame (a zero-copy slice of `buf`, prefix
    /// removed), and `Ok(None)` when `buf` does not yet hold a whole frame; then `buf` is left
    /// unchanged, except that capacity for the rest of an announced frame may be reserved.
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidLength`] for a negative length prefix and
    /// [`DecodeError::FrameTooLarge`] for one above the maximum. Both leave `buf` unchanged and
    /// mean the stream can no longer be trusted: the connection should be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_SIZE>() else {
            return Ok(None);
        };
        let declared = i32::from_be_bytes(*prefix);
        let size = usize::try_from(declared).map_err(|_| DecodeError::InvalidLength {
            what: "frame",
            length: i64::from(declared),
        })?;
        if size > self.max_frame_size {
            return Err(DecodeError::FrameTooLarge {
                size,
                max: self.max_frame_size,
            });
        }
        // The prefix is at most `i32::MAX`, so this cannot overflow even on 32-bit targets.
        let total = LENGTH_PREFIX_SIZE + size;
        if buf.len() < total {
            // Grow towards the declared size in step with what has arrived (at least doubling
            // each time), so a peer that declares 100 MiB and sends 4 bytes costs 64 KiB, not
            // 100 MiB, while a large fetch still needs only a few reallocations.
            let missing = total - buf.len();
            buf.reserve(missing.min(buf.len().max(MIN_RESERVE)));
            return Ok(None);
        }
        buf.advance(LENGTH_PREFIX_SIZE);
        Ok(Some(buf.split_to(size).freeze()))
    }
}

impl Default for FrameDecoder {
    /// A decoder with [`DEFAULT_MAX_FRAME_SIZE`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

/// Writes the length prefix of a frame whose body is `len` bytes; the caller writes the body
/// right after it.
///
/// # Errors
///
/// [`EncodeError::TooLong`] when `len` does not fit the prefix (`i32::MAX`). Nothing is written
/// then.
pub fn put_frame_len<B: BufMut>(buf: &mut B, len: usize) -> Result<(), EncodeError> {
    let prefix = i32::try_from(len).map_err(|_| EncodeError::TooLong {
        what: "frame",
        length: len,
    })?;
    buf.put_i32(prefix);
    Ok(())
}

/// Frames `body`: its length prefix followed by a copy of it, in one exactly-sized buffer.
///
/// For hot paths, prefer [`put_frame_len`] and encoding the body straight into the same buffer;
/// this is the convenience for bodies that already exist.
///
/// # Errors
///
/// [`EncodeError::TooLong`] when `body` is longer than `i32::MAX` bytes.
pub fn encode_frame(body: &[u8]) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::with_capacity(LENGTH_PREFIX_SIZE.saturating_add(body.len()));
    put_frame_len(&mut buf, body.len())?;
    buf.put_slice(body);
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        encode_frame(body).unwrap().to_vec()
    }

    #[test]
    fn a_declared_size_alone_does_not_reserve_it() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::from(&(90 * 1024 * 1024u32).to_be_bytes()[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(
            buf.capacity() < 1024 * 1024,
            "reserved {} bytes",
            buf.capacity()
        );
    }

    #[test]
    fn partial_prefix_needs_more() {
        let mut decoder = FrameDecoder::default();
        for n in 0..LENGTH_PREFIX_SIZE {
            let mut buf = BytesMut::from(&[0u8, 0, 0, 5][..n]);
            assert_eq!(decoder.decode(&mut buf), Ok(None));
            assert_eq!(buf.len(), n);
        }
    }

    #[test]
    fn partial_body_needs_more_and_reserves_only_the_frame() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[0, 0, 0, 5, b'a', b'b']);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], &[0, 0, 0, 5, b'a', b'b']);
        assert!(buf.capacity() >= 9);

        buf.extend_from_slice(b"cde");
        let body = decoder.decode(&mut buf).unwrap().unwrap();
        assert_eq!(&body[..], b"abcde");
        assert!(buf.is_empty());
    }

    #[test]
    fn two_frames_in_one_buffer() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame(b"first"));
        buf.extend_from_slice(&frame(b""));
        buf.extend_from_slice(&frame(b"third"));
        buf.extend_from_slice(&[0, 0]);
        assert_eq!(
            decoder.decode(&mut buf).unwrap().as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(decoder.decode(&mut buf).unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(
            decoder.decode(&mut buf).unwrap().as_deref(),
            Some(&b"third"[..])
        );
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn frames_are_slices_of_the_read_buffer() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::from(&frame(b"zero-copy")[..]);
        let body_ptr = buf[LENGTH_PREFIX_SIZE..].as_ptr();
        let body = decoder.decode(&mut buf).unwrap().unwrap();
        assert_eq!(body.as_ptr(), body_ptr);
    }

    #[test]
    fn exactly_max_is_accepted_and_one_more_is_not() {
        let mut decoder = FrameDecoder::new(8);
        let mut buf = BytesMut::from(&frame(&[7; 8])[..]);
        assert_eq!(
            decoder.decode(&mut buf).unwrap().as_deref(),
            Some(&[7u8; 8][..])
        );

        let mut buf = BytesMut::from(&[0u8, 0, 0, 9][..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(DecodeError::FrameTooLarge { size: 9, max: 8 })
        );
        assert_eq!(buf.len(), LENGTH_PREFIX_SIZE);
    }

    #[test]
    fn oversized_prefix_is_rejected_before_reserving() {
        let mut decoder = FrameDecoder::default();
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        let capacity = buf.capacity();
        assert_eq!(
            decoder.decode(&mut buf),
            Err(DecodeError::FrameTooLarge {
                size: i32::MAX as usize,
                max: DEFAULT_MAX_FRAME_SIZE
            })
        );
        assert_eq!(buf.capacity(), capacity);
    }

    #[test]
    fn negative_prefix_is_rejected() {
        let mut decoder = FrameDecoder::default();
        for prefix in [-1i32, i32::MIN] {
            let mut buf = BytesMut::from(&prefix.to_be_bytes()[..]);
            assert_eq!(
                decoder.decode(&mut buf),
                Err(DecodeError::InvalidLength {
                    what: "frame",
                    length: i64::from(prefix)
                })
            );
        }
    }

    #[test]
    fn encoding() {
        assert_eq!(frame(b"abc"), [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(frame(b""), [0, 0, 0, 0]);

        let mut buf = BytesMut::new();
        put_frame_len(&mut buf, 0x0102_0304).unwrap();
        assert_eq!(&buf[..], &[1, 2, 3, 4]);

        let mut buf = BytesMut::new();
        let too_long = i32::MAX as usize + 1;
        assert_eq!(
            put_frame_len(&mut buf, too_long),
            Err(EncodeError::TooLong {
                what: "frame",
                length: too_long
            })
        );
        assert!(buf.is_empty());
    }

    proptest! {
        #[test]
        fn chunked_frames_reassemble(
            bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
            cuts in prop::collection::vec(0usize..1024, 0..32),
        ) {
            let stream: Vec<u8> = bodies.iter().flat_map(|body| frame(body)).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.push(stream.len());
            cuts.sort_unstable();

            let mut decoder = FrameDecoder::new(64);
            let mut buf = BytesMut::new();
            let mut decoded = Vec::new();
            let mut start = 0;
            for cut in cuts {
                buf.extend_from_slice(&stream[start..cut]);
                start = cut;
                while let Some(body) = decoder.decode(&mut buf).unwrap() {
                    decoded.push(body.to_vec());
                }
            }
            prop_assert_eq!(decoded, bodies);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_input_never_panics(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..32), 0..16),
            max in 0usize..256,
        ) {
            let mut decoder = FrameDecoder::new(max);
            let mut buf = BytesMut::new();
            'feed: for chunk in chunks {
                buf.extend_from_slice(&chunk);
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(body)) => prop_assert!(body.len() <= max),
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
        }
    }
}
