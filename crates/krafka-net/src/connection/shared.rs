//! The state a connection's handle, writer task and reader task share, and the three
//! operations on it that must stay consistent with the wire: admitting a request (giving it a
//! correlation id and queueing its bytes), flushing bytes to the socket, and failing the
//! connection.
//!
//! Invariant: bytes reach the socket in exactly the order requests were registered in
//! [`InFlight`], because both happen under the one `io` lock and only `flush` writes.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Buf, Bytes};
use krafka_protocol::StrBytes;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::request::{Outgoing, Reply, RequestPriority, set_correlation_id};
use crate::config::ConnectionConfig;
use crate::error::NetError;
use crate::handshake::ApiVersions;
use crate::inflight::InFlight;
use crate::stats::{ConnectionStats, Lane};
use crate::transport::Transport;

/// Frames offered to one `writev`; Linux accepts up to 1024 and std caps there too.
const MAX_IOVECS: usize = 64;
/// Answers to no-response requests (acks=0) that are tolerated and dropped, for brokers that
/// answer them anyway.
const REMEMBERED_ONE_WAY: usize = 64;

/// Who waits for a registered request's response.
pub(crate) struct Waiter {
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<Bytes, NetError>>,
    pub(crate) priority: RequestPriority,
}

/// What the `io` lock guards: the requests awaiting answers, the bytes awaiting the socket (in
/// registration order), and whether the connection has ended.
pub(crate) struct IoState {
    pub(crate) inflight: InFlight<Waiter>,
    /// Normal-priority requests in flight, held to `max_in_flight_requests`; high-priority
    /// requests may exceed it by up to the high lane's capacity.
    pub(crate) normal_in_flight: usize,
    pub(crate) unwritten: VecDeque<Bytes>,
    /// Correlation ids of recent no-response requests.
    pub(crate) one_way: VecDeque<i32>,
    pub(crate) last_activity: Instant,
    pub(crate) closed: Option<NetError>,
    /// A re-authentication is under way: no request is admitted but its own (see `reauth`).
    pub(crate) paused: bool,
}

pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) addr: Arc<str>,
    pub(crate) config: Arc<ConnectionConfig>,
    pub(crate) client_id: StrBytes,
    pub(crate) versions: ApiVersions,
    pub(crate) transport: Transport,
    pub(crate) io: Mutex<IoState>,
    /// Requests in a lane or held by the writer and not yet admitted. A caller may write
    /// directly only when this is zero, so it never overtakes a request sent before it.
    pub(crate) queued: AtomicUsize,
    pub(crate) usable: AtomicBool,
    pub(crate) high_tx: mpsc::Sender<Outgoing>,
    pub(crate) normal_tx: mpsc::Sender<Outgoing>,
    /// Wakes the writer: room freed, or bytes left by a direct write.
    pub(crate) writer_wake: Notify,
    /// Wakes the reader to re-arm its timer: a request registered on an idle connection.
    pub(crate) reader_wake: Notify,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) stats: ConnectionStats,
}

impl Shared {
    pub(crate) fn closed_error(&self) -> NetError {
        NetError::Closed {
            addr: self.addr.to_string(),
        }
    }

    /// Whether `out` may be registered now without passing the in-flight limits.
    pub(crate) fn has_room(&self, io: &IoState, out: &Outgoing) -> bool {
        if io.paused {
            return false;
        }
        if !out.reply.expects_response() {
            return true;
        }
        io.inflight.has_room()
            && (out.priority == RequestPriority::High
                || io.normal_in_flight < self.config.max_in_flight_requests)
    }

    /// Gives `out` its correlation id, registers it and queues its bytes behind everything
    /// admitted before it.
    pub(crate) fn admit(&self, io: &mut IoState, out: Outgoing, lane: Lane) {
        let now = Instant::now();
        let Outgoing {
            mut head,
            body,
            api_key,
            version,
            priority,
            reply,
        } = out;
        let mut written = None;
        let correlation_id = match reply {
            Reply::Response(tx) => {
                if io.inflight.is_empty() {
                    self.reader_wake.notify_one();
                }
                if priority == RequestPriority::Normal {
                    io.normal_in_flight += 1;
                }
                let waiter = Waiter {
                    reply: tx,
                    priority,
                };
                let timeout = self.config.request_timeout;
                io.inflight.register(api_key, version, now, timeout, waiter)
            }
            Reply::Written(tx) => {
                let id = io.inflight.next_correlation_id();
                if io.one_way.len() == REMEMBERED_ONE_WAY {
                    io.one_way.pop_front();
                }
                io.one_way.push_back(id);
                written = Some(tx);
                id
            }
        };
        set_correlation_id(&mut head, correlation_id);
        io.unwritten.push_back(head.freeze());
        io.unwritten.extend(body);
        io.last_activity = now;
        self.stats.sent(lane);
        self.stats.set_in_flight(io.inflight.len());
        if let Some(tx) = written {
            let _ = tx.send(Ok(()));
        }
    }

    /// Writes queued bytes until the socket would block. `Ok(true)` when nothing is left (no
    /// request bytes, and no TLS records the socket has not taken).
    pub(crate) fn flush(&self, io: &mut IoState) -> Result<bool, NetError> {
        while !io.unwritten.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(io.unwritten.iter()) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            let written = match self.transport.try_write_vectored(&slices[..count]) {
                Ok(0) => return Err(NetError::disconnected(&self.addr, "socket closed")),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::transport::io_error(&self.addr, e)),
            };
            self.stats.wrote(written);
            let mut left = written;
            while left > 0 {
                let Some(front) = io.unwritten.front_mut() else {
                    break;
                };
                if front.len() <= left {
                    left -= front.len();
                    io.unwritten.pop_front();
                } else {
                    front.advance(left);
                    left = 0;
                }
            }
        }
        // TLS: records rustls made from bytes it took but the socket did not.
        if self.transport.has_pending_output() {
            return self
                .transport
                .flush_output()
                .map_err(|e| crate::transport::io_error(&self.addr, e));
        }
        Ok(true)
    }

    /// Ends the connection: every waiting request fails with `error` at once, both tasks are
    /// told to stop, and the handle reports unusable. Only the first call has an effect.
    pub(crate) fn fail(&self, error: NetError) {
        let pending = {
            let mut io = self.io.lock();
            if io.closed.is_some() {
                return;
            }
            io.closed = Some(error.clone());
            io.unwritten.clear();
            io.normal_in_flight = 0;
            io.inflight.drain()
        };
        self.usable.store(false, Ordering::Release);
        self.stats.set_in_flight(0);
        let _ = self.shutdown.send(true);
        if matches!(error, NetError::Closed { .. }) {
            tracing::debug!(addr = %self.addr, id = self.id, "connection closed");
        } else {
            tracing::warn!(addr = %self.addr, id = self.id, %error, failed = pending.len(), "connection failed");
        }
        for p in pending {
            let _ = p.waiter.reply.send(Err(error.clone()));
        }
    }

    /// Stops admitting requests (for a re-authentication); requests wait in their lanes.
    pub(crate) fn pause(&self) {
        self.io.lock().paused = true;
    }

    /// Admits requests again and wakes the writer to send those that waited.
    pub(crate) fn resume(&self) {
        self.io.lock().paused = false;
        self.writer_wake.notify_one();
    }

    /// The error requests get once the connection has ended.
    pub(crate) fn ended_error(&self) -> NetError {
        self.io
            .lock()
            .closed
            .clone()
            .unwrap_or_else(|| self.closed_error())
    }
}
