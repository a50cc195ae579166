//! The TLS stream of a build without the `tls` feature: a type with no values, so
//! [`Transport`](super::Transport) keeps one shape in every build while no TLS stream can
//! exist (the configuration refuses `SSL` and `SASL_SSL` before any connection is made).

use std::io::{self, IoSlice};

use bytes::BytesMut;
use tokio::net::TcpStream;

/// A TLS client stream: none can be made in this build.
#[derive(Debug)]
pub enum TlsStream {}

/// No I/O error carries a TLS failure in this build.
pub(crate) fn tls_failure(_error: &io::Error) -> Option<&str> {
    None
}

impl TlsStream {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match *self {}
    }

    pub(crate) fn has_buffered_input(&self) -> bool {
        match *self {}
    }

    pub(crate) fn has_pending_output(&self) -> bool {
        match *self {}
    }

    pub(crate) fn try_read(&self, _out: &mut BytesMut) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn try_write_vectored(&self, _bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn flush_output(&self) -> io::Result<bool> {
        match *self {}
    }
}
