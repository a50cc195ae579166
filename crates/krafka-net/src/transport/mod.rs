//! The byte stream under a connection: plain TCP, or TLS over it ([`tls`]), behind one small
//! type so the connection task does not care which.
//!
//! The connection task drives the stream through readiness (`readable`/`writable`) and
//! non-blocking `try_read`/`try_write_vectored` calls taking `&self`. That shape lets the reader
//! task, the writer task and a caller writing directly (see the bypass in
//! [`crate::connection`]) share one stream without a lock held across an `.await`: every
//! actual read or write is a synchronous call. TLS keeps the shape: rustls' synchronous
//! `ClientConnection` decrypts inside `try_read` and encrypts inside `try_write_vectored`; the
//! only addition is ciphertext rustls still holds when the socket would block, which
//! [`Transport::has_pending_output`] and [`Transport::flush_output`] let the writer finish.

#[cfg(feature = "tls")]
pub mod tls;
#[cfg(not(feature = "tls"))]
#[path = "no_tls.rs"]
pub mod tls;

use std::io::{self, IoSlice};
use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::net::{TcpSocket, TcpStream};

use crate::config::ConnectionConfig;
use crate::error::NetError;
pub use tls::TlsStream;

/// An open byte stream to a broker.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream>),
}

impl Transport {
    /// Resolves `addr` (`host:port`) and opens a TCP connection with the configured socket
    /// options, trying each resolved address in turn, then runs the TLS handshake when the
    /// security protocol asks for it. The caller bounds the time taken.
    ///
    /// Cancel-safe: dropping the future drops the half-open socket.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Self, NetError> {
        let stream = Self::connect_tcp(addr, config).await?;
        #[cfg(not(feature = "tls"))]
        return Ok(Self::Tcp(stream));
        #[cfg(feature = "tls")]
        match config.tls_client_config() {
            Some(tls) => {
                let name = crate::security::tls::setup::server_name(addr).map_err(|reason| {
                    NetError::Tls {
                        addr: addr.to_owned(),
                        reason: reason.into(),
                    }
                })?;
                let stream = TlsStream::handshake(stream, tls.clone(), name, addr).await?;
                Ok(Self::Tls(Box::new(stream)))
            }
            None => Ok(Self::Tcp(stream)),
        }
    }

    async fn connect_tcp(addr: &str, config: &ConnectionConfig) -> Result<TcpStream, NetError> {
        let connect_error = |source: io::Error| NetError::Connect {
            addr: addr.to_owned(),
            source: source.into(),
        };
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(connect_error)?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolved to nothing");
        for socket_addr in resolved {
            match Self::connect_one(socket_addr, config).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }

    async fn connect_one(addr: SocketAddr, config: &ConnectionConfig) -> io::Result<TcpStream> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(size) = config.send_buffer_size {
            socket.set_send_buffer_size(u32::try_from(size).unwrap_or(u32::MAX))?;
        }
        if let Some(size) = config.receive_buffer_size {
            socket.set_recv_buffer_size(u32::try_from(size).unwrap_or(u32::MAX))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(config.tcp_nodelay)?;
        Ok(stream)
    }

    /// Whether the stream runs over TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// Waits until a read may make progress. Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.readable().await,
            Self::Tls(s) if s.has_buffered_input() => Ok(()),
            Self::Tls(s) => s.tcp().readable().await,
        }
    }

    /// Waits until a write may make progress. Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
            Self::Tls(s) => s.tcp().writable().await,
        }
    }

    /// Reads what is available into `buf`'s spare capacity without blocking: `Ok(0)` is end of
    /// stream, `WouldBlock` means wait for [`Transport::readable`].
    pub fn try_read(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read_buf(buf),
            Self::Tls(s) => s.try_read(buf),
        }
    }

    /// Writes as much of `bufs` as the socket takes without blocking, in one system call (TLS:
    /// as much as rustls takes; its records go out in one vectored write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write_vectored(bufs),
            Self::Tls(s) => s.try_write_vectored(bufs),
        }
    }

    /// Whether bytes already accepted by [`try_write_vectored`](Self::try_write_vectored) are
    /// still waiting for the socket (only TLS holds any).
    pub fn has_pending_output(&self) -> bool {
        match self {
            Self::Tcp(_) => false,
            Self::Tls(s) => s.has_pending_output(),
        }
    }

    /// Writes bytes still waiting: `Ok(true)` when none is left, `Ok(false)` when the socket
    /// would block.
    pub fn flush_output(&self) -> io::Result<bool> {
        match self {
            Self::Tcp(_) => Ok(true),
            Self::Tls(s) => s.flush_output(),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Tcp(s) => s.peer_addr(),
            Self::Tls(s) => s.tcp().peer_addr(),
        }
    }
}

/// The error for an I/O failure on a connection to `addr`: TLS failures are [`NetError::Tls`]
/// (not retriable), everything else a lost connection.
pub(crate) fn io_error(addr: &str, error: io::Error) -> NetError {
    match tls::tls_failure(&error) {
        Some(reason) => NetError::Tls {
            addr: addr.to_owned(),
            reason: reason.into(),
        },
        None => NetError::disconnected(addr, error),
    }
}
