//! [`TlsStream`]: TCP under rustls' synchronous `ClientConnection`, driven by readiness like
//! the plain socket, so the connection's reader task, writer task and direct writers use it
//! unchanged.
//!
//! rustls is fed ciphertext and gives plaintext; it takes plaintext and gives ciphertext.
//! Reads take up to 64 KiB of ciphertext per system call into a buffer of our own, feed it to
//! rustls a record at a time and append the plaintext to the caller's buffer; writes hand the
//! caller's slices to rustls, which encrypts them into records, and push the records out with
//! one vectored write. One short lock guards the rustls state; it is never held across an
//! `.await`.
//!
//! Readiness contract, the same as a socket's: `try_read` returns `WouldBlock` only when the
//! socket did and nothing is buffered; if it stops early with data still buffered it says so
//! (`TlsStream::has_buffered_input`), and `readable` then returns at once. Ciphertext that
//! the socket did not take stays in rustls; `TlsStream::has_pending_output` tells the writer
//! to wait for `writable` and call `TlsStream::flush_output`.

use std::io::{self, BufRead as _, IoSlice, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Buf as _, BytesMut};
use parking_lot::Mutex;
use rustls::ClientConnection;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use crate::error::NetError;
use crate::security::tls::setup::describe_tls_error;

/// Ciphertext read from the socket per system call, at most.
const CIPHER_READ: usize = 64 * 1024;
/// Plaintext one `try_read` hands back before returning (the rest stays buffered), so a
/// steady stream cannot keep the lock for long.
const PLAINTEXT_BATCH: usize = 256 * 1024;

/// A TLS failure carried inside an `io::Error`, so that the I/O paths can tell it from a
/// dropped socket.
#[derive(Debug)]
pub(crate) struct TlsFailure(pub(crate) String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

/// The TLS failure inside `error`, if it is one.
pub(crate) fn tls_failure(error: &io::Error) -> Option<&str> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>())
        .map(|f| f.0.as_str())
}

fn failure(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TlsFailure(message))
}

struct TlsState {
    conn: ClientConnection,
    /// Ciphertext read from the socket and not yet given to rustls.
    cipher_in: BytesMut,
    /// The socket reached end of stream.
    eof: bool,
}

/// A TLS client stream over a TCP socket.
pub struct TlsStream {
    tcp: TcpStream,
    host: String,
    state: Mutex<TlsState>,
    buffered_input: AtomicBool,
    pending_output: AtomicBool,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Writes to a non-blocking socket without waiting (what rustls' `write_tls` is given).
struct SocketWriter<'a>(&'a TcpStream);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsStream {
    /// Runs the TLS handshake on `tcp` for `name`. The caller bounds the time it takes.
    ///
    /// Cancel-safe: dropping the future drops the socket.
    pub(crate) async fn handshake(
        tcp: TcpStream,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        addr: &str,
    ) -> Result<Self, NetError> {
        let host = crate::security::tls::setup::host_of(addr).to_owned();
        let tls_error = |reason: String| NetError::Tls {
            addr: addr.to_owned(),
            reason: reason.into(),
        };
        let mut conn = ClientConnection::new(config, name).map_err(|e| tls_error(e.to_string()))?;
        let mut cipher_in = BytesMut::with_capacity(16 * 1024);
        loop {
            while conn.wants_write() {
                tcp.writable()
                    .await
                    .map_err(|e| NetError::disconnected(addr, e))?;
                match conn.write_tls(&mut SocketWriter(&tcp)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(NetError::disconnected(addr, e)),
                }
            }
            if !conn.is_handshaking() {
                break;
            }
            tcp.readable()
                .await
                .map_err(|e| NetError::disconnected(addr, e))?;
            if cipher_in.capacity() - cipher_in.len() < 4096 {
                cipher_in.reserve(16 * 1024);
            }
            match tcp.try_read_buf(&mut cipher_in) {
                Ok(0) => {
                    return Err(tls_error(
                        "the broker closed the connection during the TLS handshake (is the port a plaintext listener, or does it require a client certificate?)".into(),
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(NetError::disconnected(addr, e)),
            }
            while !cipher_in.is_empty() {
                let taken = conn
                    .read_tls(&mut &cipher_in[..])
                    .map_err(|e| tls_error(e.to_string()))?;
                cipher_in.advance(taken);
                if let Err(e) = conn.process_new_packets() {
                    // Tell the broker why (rustls queued an alert), then report it.
                    let _ = conn.write_tls(&mut SocketWriter(&tcp));
                    return Err(tls_error(describe_tls_error(&e, &host)));
                }
                if taken == 0 {
                    break;
                }
            }
        }
        tracing::debug!(
            %addr,
            version = ?conn.protocol_version(),
            suite = ?conn.negotiated_cipher_suite().map(|s| s.suite()),
            "TLS established"
        );
        let buffered = !cipher_in.is_empty();
        Ok(Self {
            tcp,
            host,
            state: Mutex::new(TlsState {
                conn,
                cipher_in,
                eof: false,
            }),
            buffered_input: AtomicBool::new(buffered),
            pending_output: AtomicBool::new(false),
        })
    }

    /// The socket.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Whether a read can return data without the socket becoming readable.
    pub(crate) fn has_buffered_input(&self) -> bool {
        self.buffered_input.load(Ordering::Acquire)
    }

    /// Whether ciphertext waits for the socket to take it.
    pub(crate) fn has_pending_output(&self) -> bool {
        self.pending_output.load(Ordering::Acquire)
    }

    /// Reads plaintext into `out`'s end. `Ok(0)` is end of stream.
    pub(crate) fn try_read(&self, out: &mut BytesMut) -> io::Result<usize> {
        let mut st = self.state.lock();
        let mut total = 0;
        let result = loop {
            // 1. Plaintext rustls already holds.
            match st.conn.reader().fill_buf() {
                Ok(chunk) if !chunk.is_empty() => {
                    let n = chunk.len();
                    out.extend_from_slice(chunk);
                    st.conn.reader().consume(n);
                    total += n;
                    if total >= PLAINTEXT_BATCH {
                        break Ok(total);
                    }
                    continue;
                }
                // A clean close_notify: end of stream once everything was read.
                Ok(_) => break Ok(total),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break Ok(total),
                Err(e) => break Err(e),
            }
            // 2. Ciphertext read earlier: one record's worth at a time, since rustls holds at
            //    most 16 KiB of plaintext.
            if !st.cipher_in.is_empty() {
                let st = &mut *st;
                let taken = st.conn.read_tls(&mut &st.cipher_in[..])?;
                st.cipher_in.advance(taken);
                if let Err(e) = st.conn.process_new_packets() {
                    let _ = self.flush_locked(st);
                    break Err(failure(describe_tls_error(&e, &self.host)));
                }
                if st.conn.wants_write() {
                    // A key update or an alert to answer: best effort, the writer finishes it.
                    match self.flush_locked(st) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => break Err(e),
                    }
                }
                continue;
            }
            if total > 0 || st.eof {
                break Ok(total);
            }
            // 3. The socket.
            if st.cipher_in.capacity() < CIPHER_READ {
                st.cipher_in.reserve(CIPHER_READ);
            }
            match self.tcp.try_read_buf(&mut st.cipher_in) {
                Ok(0) => {
                    st.eof = true;
                    st.conn.read_tls(&mut io::empty())?;
                }
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let buffered = !st.cipher_in.is_empty()
            || st
                .conn
                .reader()
                .fill_buf()
                .is_ok_and(|chunk| !chunk.is_empty());
        self.buffered_input.store(buffered, Ordering::Release);
        result
    }

    /// Encrypts as much of `bufs` as rustls takes and writes it out. `WouldBlock` when the
    /// socket would not take the ciphertext already waiting.
    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut st = self.state.lock();
        self.flush_locked(&mut st)?;
        let taken = st.conn.writer().write_vectored(bufs)?;
        match self.flush_locked(&mut st) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if taken == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Writes waiting ciphertext: `Ok(true)` when none is left.
    pub(crate) fn flush_output(&self) -> io::Result<bool> {
        let mut st = self.state.lock();
        match self.flush_locked(&mut st) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes ciphertext until none is left (`Ok`) or the socket would block.
    fn flush_locked(&self, st: &mut TlsState) -> io::Result<()> {
        let result = loop {
            if !st.conn.wants_write() {
                break Ok(());
            }
            match st.conn.write_tls(&mut SocketWriter(&self.tcp)) {
                Ok(0) => break Err(io::Error::new(io::ErrorKind::WriteZero, "socket closed")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.pending_output
            .store(st.conn.wants_write(), Ordering::Release);
        result
    }
}
