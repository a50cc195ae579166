//! Encoding into chunks, so record data is sent without being copied again.
//!
//! A Produce request is mostly record batches that the producer has already encoded into their
//! own `Bytes`. Copying them into one request buffer would touch every payload byte a second
//! time. [`ChunkedBuf`] instead collects the small encoded parts in one `BytesMut` and keeps
//! large shared buffers as separate chunks, ready for one vectored write.

use bytes::{BufMut, Bytes, BytesMut, buf::UninitSlice};

/// A buffer that generated encoders write into. Besides `BufMut`'s writes it can take shared
/// `Bytes` (record data), which it may reference instead of copying.
pub trait WriteBuf: BufMut {
    /// Appends `bytes`; an implementation may keep a reference instead of copying.
    fn put_shared(&mut self, bytes: &Bytes);

    /// A hint that about `additional` more bytes will be written, so a growable buffer can
    /// allocate once.
    fn reserve_hint(&mut self, additional: usize) {
        let _ = additional;
    }
}

impl WriteBuf for BytesMut {
    #[inline]
    fn put_shared(&mut self, bytes: &Bytes) {
        self.extend_from_slice(bytes);
    }

    #[inline]
    fn reserve_hint(&mut self, additional: usize) {
        self.reserve(additional);
    }
}

impl WriteBuf for Vec<u8> {
    #[inline]
    fn put_shared(&mut self, bytes: &Bytes) {
        self.extend_from_slice(bytes);
    }
}

/// Shared buffers smaller than this are copied: a separate chunk costs an iovec entry and a
/// reference count, which only pays off for larger data.
pub const MIN_SHARED_CHUNK: usize = 512;

/// An encoding target that keeps large shared buffers as their own chunks.
#[derive(Debug, Default)]
pub struct ChunkedBuf {
    current: BytesMut,
    chunks: Vec<Bytes>,
    len: usize,
}

impl ChunkedBuf {
    /// An empty buffer whose first inline chunk has room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            current: BytesMut::with_capacity(capacity),
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// The total number of bytes written so far.
    pub fn len(&self) -> usize {
        self.len + self.current.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The chunks in order, ready for a vectored write.
    pub fn into_chunks(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.chunks.push(self.current.freeze());
        }
        self.chunks
    }
}

impl WriteBuf for ChunkedBuf {
    fn put_shared(&mut self, bytes: &Bytes) {
        if bytes.len() < MIN_SHARED_CHUNK {
            self.current.extend_from_slice(bytes);
            return;
        }
        if !self.current.is_empty() {
            let head = self.current.split();
            self.len += head.len();
            self.chunks.push(head.freeze());
        }
        self.len += bytes.len();
        self.chunks.push(bytes.clone());
    }
}

// `BufMut` is an unsafe trait because callers rely on `chunk_mut`/`advance_mut` describing
// memory correctly. We forward every method to the inner `BytesMut`, which upholds that
// contract, and add nothing of our own.
#[allow(unsafe_code)]
// SAFETY: all three methods delegate to `BytesMut`'s sound implementation unchanged.
unsafe impl BufMut for ChunkedBuf {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }

    #[inline]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller's promise (that `cnt` bytes of `chunk_mut` were initialised) is
        // the one `BytesMut::advance_mut` requires, and `chunk_mut` came from the same buffer.
        unsafe { self.current.advance_mut(cnt) }
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.current.chunk_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_shared_buffers_become_chunks_and_small_ones_are_copied() {
        let big = Bytes::from(vec![7u8; 4096]);
        let mut buf = ChunkedBuf::with_capacity(64);
        buf.put_i32(1);
        buf.put_shared(&big);
        buf.put_shared(&Bytes::from_static(b"tiny"));
        buf.put_u8(9);
        assert_eq!(buf.len(), 4 + 4096 + 4 + 1);
        let chunks = buf.into_chunks();
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks[1].as_ptr(),
            big.as_ptr(),
            "the big buffer is referenced, not copied"
        );
        assert_eq!(&chunks[2][..], b"tiny\x09");
    }
}
