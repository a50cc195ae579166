//! The byte stream under a connection, kept behind one small type so that TLS can be added as
//! a second variant without reshaping the connection task.
//!
//! The connection task drives the stream through readiness (`readable`/`writable`) and
//! non-blocking `try_read`/`try_write_vectored` calls taking `&self`. That shape lets the reader
//! task, the writer task and a caller writing directly (see the bypass in
//! [`crate::connection`]) share one stream without a lock held across an `.await`: every
//! actual read or write is a synchronous call. A TLS variant fits the same shape with rustls'
//! synchronous `ClientConnection` encrypting inside `try_write_vectored` and decrypting inside
//! `try_read`.

use std::io::{self, IoSlice};
use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::net::{TcpSocket, TcpStream};

use crate::config::ConnectionConfig;
use crate::error::NetError;

/// An open byte stream to a broker.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
}

impl Transport {
    /// Resolves `addr` (`host:port`) and opens a TCP connection with the configured socket
    /// options, trying each resolved address in turn. The caller bounds the time taken.
    ///
    /// Cancel-safe: dropping the future drops the half-open socket.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Self, NetError> {
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
                Ok(stream) => return Ok(Self::Tcp(stream)),
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

    /// Waits until a read may make progress. Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.readable().await,
        }
    }

    /// Waits until a write may make progress. Cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
        }
    }

    /// Reads what is available into `buf`'s spare capacity without blocking: `Ok(0)` is end of
    /// stream, `WouldBlock` means wait for [`Transport::readable`].
    pub fn try_read(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read_buf(buf),
        }
    }

    /// Writes as much of `bufs` as the socket takes without blocking, in one system call.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write_vectored(bufs),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Tcp(s) => s.peer_addr(),
        }
    }
}
