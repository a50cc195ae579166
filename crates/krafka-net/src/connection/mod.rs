//! `BrokerConnection`: one TCP connection to one broker, shared by any number of tasks.
//!
//! A connection is a cheap cloneable handle over two tasks (see `tasks`): a writer that
//! empties the high-priority lane before the normal lane and coalesces everything waiting into
//! one vectored write, and a reader that matches responses to requests by correlation id.
//! When the connection is idle (nothing in flight or queued) a caller skips both lanes and
//! writes its request itself (the *bypass*, counted in [`ConnectionStats::bypass_count`]).
//!
//! Sending is split in two steps so that order is under the caller's control:
//! [`BrokerConnection::enqueue`] returns once the request has its place in line, and the
//! [`ResponseFuture`] it gives resolves with the answer. Requests of one priority from one task
//! reach the broker in the order they were enqueued; a high-priority request may overtake
//! normal ones still waiting in their lane.
//!
//! Failure is immediate and total: a dropped connection, a protocol violation or a request
//! past `request_timeout` fails every waiting request at once (retriable errors, see
//! [`NetError::is_retriable`]) and the handle reports [`BrokerConnection::is_usable`] false.
//! A connection is never repaired; the pool replaces it.

mod reauth;
mod request;
mod shared;
mod tasks;

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::BytesMut;
use krafka_protocol::codec::ChunkedBuf;
use krafka_protocol::messages::ProduceRequest;
use krafka_protocol::{ApiKey, EncodeError, RequestMessage, StrBytes};
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, oneshot, watch};

pub use request::{RequestPriority, Response, ResponseFuture};

use crate::config::ConnectionConfig;
use crate::error::NetError;
use crate::handshake::{ApiVersions, handshake};
use crate::inflight::InFlight;
use crate::stats::{ConnectionStats, Lane};
use crate::transport::Transport;
use request::{Outgoing, Reply};
use shared::{IoState, Shared};

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A connection to one broker. Clones share the connection; it closes when the last clone is
/// dropped (without blocking) or on [`BrokerConnection::close`].
#[derive(Clone)]
pub struct BrokerConnection {
    shared: Arc<Shared>,
    _guard: Arc<CloseOnDrop>,
}

/// Ends the connection when the last handle goes; the tasks hold only `Shared`.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.fail(self.0.closed_error());
    }
}

impl fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("id", &self.shared.id)
            .field("addr", &self.shared.addr)
            .field("usable", &self.is_usable())
            .finish()
    }
}

impl BrokerConnection {
    /// Connects to `addr` (`host:port`) and negotiates API versions, all within
    /// `config.connect_timeout`.
    ///
    /// Cancel-safe: dropping the future abandons the attempt and closes the socket.
    pub async fn connect(addr: &str, config: Arc<ConnectionConfig>) -> Result<Self, NetError> {
        let attempt = async {
            let transport = Transport::connect(addr, &config).await?;
            let mut read_buf = BytesMut::with_capacity(64 * 1024);
            let outcome = handshake(&transport, addr, &config, &mut read_buf).await?;
            Ok::<_, NetError>((transport, outcome, read_buf))
        };
        let (transport, outcome, read_buf) =
            match tokio::time::timeout(config.connect_timeout, attempt).await {
                Ok(result) => result?,
                Err(_) => {
                    return Err(NetError::ConnectTimeout {
                        addr: addr.to_owned(),
                        after: config.connect_timeout,
                    });
                }
            };
        let (high_tx, high_rx) = mpsc::channel(config.high_priority_channel_capacity);
        let (normal_tx, normal_rx) = mpsc::channel(config.normal_priority_channel_capacity);
        let max_in_flight = config.max_in_flight_requests + config.high_priority_channel_capacity;
        let shared = Arc::new(Shared {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            addr: addr.into(),
            client_id: StrBytes::from_string(config.client_id.clone()),
            versions: outcome.versions,
            transport,
            io: Mutex::new(IoState {
                inflight: InFlight::new(max_in_flight),
                normal_in_flight: 0,
                unwritten: VecDeque::new(),
                one_way: VecDeque::new(),
                last_activity: Instant::now(),
                closed: None,
                paused: false,
            }),
            queued: AtomicUsize::new(0),
            usable: AtomicBool::new(true),
            high_tx,
            normal_tx,
            writer_wake: Notify::new(),
            reader_wake: Notify::new(),
            shutdown: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
            stats: ConnectionStats::default(),
            config,
        });
        let writer = tokio::spawn(tasks::writer(shared.clone(), high_rx, normal_rx));
        let reader = tokio::spawn(tasks::reader(shared.clone(), read_buf));
        shared.tasks.lock().extend([writer, reader]);
        if let (Some(lifetime), Some(sasl)) =
            (outcome.session_lifetime, &shared.config.security.sasl)
        {
            let reauth = tokio::spawn(reauth::run(shared.clone(), sasl.clone(), lifetime));
            shared.tasks.lock().push(reauth);
        }
        tracing::debug!(%addr, id = shared.id, "connected");
        Ok(Self {
            _guard: Arc::new(CloseOnDrop(shared.clone())),
            shared,
        })
    }

    /// A number identifying this connection within the process.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The address it was opened to.
    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.shared.config
    }

    /// The highest version of `api_key` that both this client and the broker support, or
    /// `None` if there is none.
    pub fn api_version(&self, api_key: ApiKey) -> Option<i16> {
        self.shared.versions.api_version(api_key)
    }

    /// The version of `api_key` to send: the highest both this client and the broker support,
    /// capped at the top of `speaks` (the versions the caller builds requests for). A broker
    /// that serves none of `speaks` is [`NetError::UnsupportedApi`]: every request path asks
    /// here, so none sends a version the broker never advertised.
    pub fn version_in(
        &self,
        api_key: ApiKey,
        speaks: std::ops::RangeInclusive<i16>,
    ) -> Result<i16, NetError> {
        self.api_version(api_key)
            .map(|v| v.min(*speaks.end()))
            .filter(|v| v >= speaks.start())
            .ok_or_else(|| NetError::UnsupportedApi {
                addr: self.shared.addr.to_string(),
                api_key,
            })
    }

    /// Everything the handshake learned about the broker's API versions.
    pub fn api_versions(&self) -> &ApiVersions {
        &self.shared.versions
    }

    /// Whether requests can still be sent. False once the connection failed or was closed; it
    /// never becomes true again.
    pub fn is_usable(&self) -> bool {
        self.shared.usable.load(Ordering::Acquire)
    }

    /// Counters and round-trip latencies.
    pub fn stats(&self) -> &ConnectionStats {
        &self.shared.stats
    }

    /// Sends a request encoded by `encode` (the body only; the header is written here) and
    /// waits for its response, with the priority [`RequestPriority::for_api`] gives `api_key`.
    ///
    /// Cancel-safe in that the connection stays consistent: if the future is dropped, the
    /// request may still be sent and its response is discarded.
    pub async fn send_request<F>(
        &self,
        api_key: ApiKey,
        version: i16,
        encode: F,
    ) -> Result<Response, NetError>
    where
        F: FnOnce(&mut ChunkedBuf) -> Result<(), EncodeError>,
    {
        let priority = RequestPriority::for_api(api_key);
        self.send_request_with_priority(api_key, version, priority, encode)
            .await
    }

    /// Like [`send_request`](Self::send_request), with an explicit priority. Cancel-safe in the
    /// same sense.
    pub async fn send_request_with_priority<F>(
        &self,
        api_key: ApiKey,
        version: i16,
        priority: RequestPriority,
        encode: F,
    ) -> Result<Response, NetError>
    where
        F: FnOnce(&mut ChunkedBuf) -> Result<(), EncodeError>,
    {
        self.enqueue(api_key, version, priority, 0, encode)
            .await?
            .await
    }

    /// Puts a request in line and returns once it has its place, with a future for the
    /// response. Waits only while its lane is full (backpressure). `size_hint` is the expected
    /// body size (0 if unknown).
    ///
    /// Cancel-safe: if dropped before it returns, the request was not queued.
    pub async fn enqueue<F>(
        &self,
        api_key: ApiKey,
        version: i16,
        priority: RequestPriority,
        size_hint: usize,
        encode: F,
    ) -> Result<ResponseFuture, NetError>
    where
        F: FnOnce(&mut ChunkedBuf) -> Result<(), EncodeError>,
    {
        let (tx, rx) = oneshot::channel();
        let out = Outgoing::encode(
            api_key,
            version,
            &self.shared.client_id,
            size_hint,
            encode,
            priority,
            Reply::Response(tx),
        )?;
        self.submit(out).await?;
        Ok(ResponseFuture {
            rx,
            api_key,
            version,
            addr: self.shared.addr.clone(),
        })
    }

    /// Sends a request the broker will not answer (a Produce with acks=0), returning once it is
    /// in line for the socket. Cancel-safe: if dropped before it returns, nothing was queued.
    pub async fn send_without_response<F>(
        &self,
        api_key: ApiKey,
        version: i16,
        encode: F,
    ) -> Result<(), NetError>
    where
        F: FnOnce(&mut ChunkedBuf) -> Result<(), EncodeError>,
    {
        let (tx, rx) = oneshot::channel();
        let priority = RequestPriority::for_api(api_key);
        let out = Outgoing::encode(
            api_key,
            version,
            &self.shared.client_id,
            0,
            encode,
            priority,
            Reply::Written(tx),
        )?;
        self.submit(out).await?;
        rx.await.unwrap_or_else(|_| Err(self.shared.ended_error()))
    }

    /// Sends a typed request at `version` and decodes its response. Cancel-safe like
    /// [`send_request`](Self::send_request).
    ///
    /// A Produce with acks=0 is refused with [`NetError::InvalidRequest`] (it would wait for an
    /// answer that never comes); send it with [`send_without_response`](Self::send_without_response).
    pub async fn send<M>(&self, request: &M, version: i16) -> Result<M::Response, NetError>
    where
        M: RequestMessage + 'static,
    {
        let acks_zero = (request as &dyn Any)
            .downcast_ref::<ProduceRequest>()
            .is_some_and(|p| p.acks == 0);
        if acks_zero {
            return Err(NetError::InvalidRequest(
                "a Produce with acks=0 gets no response; use send_without_response",
            ));
        }
        let size = request.encoded_size(version)?;
        let priority = RequestPriority::for_api(M::API_KEY);
        let response = self
            .enqueue(M::API_KEY, version, priority, size, |buf| {
                request.encode(buf, version)
            })
            .await?
            .await?;
        response.decode::<M::Response>()
    }

    /// Sends a typed request at the highest version both sides support.
    pub async fn send_negotiated<M>(&self, request: &M) -> Result<M::Response, NetError>
    where
        M: RequestMessage + 'static,
    {
        let version = self.version_in(M::API_KEY, 0..=i16::MAX)?;
        self.send(request, version).await
    }

    /// Closes the connection: waiting requests fail with [`NetError::Closed`], then both tasks
    /// are awaited. Cancel-safe: the close takes effect before the first `.await`.
    pub async fn close(&self) {
        self.shared.fail(self.shared.closed_error());
        let tasks = std::mem::take(&mut *self.shared.tasks.lock());
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Writes `out` directly when the connection is idle, otherwise queues it in its lane.
    async fn submit(&self, out: Outgoing) -> Result<(), NetError> {
        let shared = &self.shared;
        if shared.queued.load(Ordering::Acquire) == 0 {
            let mut io = shared.io.lock();
            if let Some(error) = &io.closed {
                return Err(error.clone());
            }
            // Only an idle connection is written to directly: under load, handing requests to
            // the writer lets it coalesce them into one write. `queued` is re-read under the
            // lock because the writer lowers it only while holding it.
            if io.inflight.is_empty()
                && io.unwritten.is_empty()
                && shared.queued.load(Ordering::Acquire) == 0
                && shared.has_room(&io, &out)
            {
                shared.admit(&mut io, out, Lane::Bypass);
                let flushed = shared.flush(&mut io);
                drop(io);
                match flushed {
                    Ok(true) => {}
                    Ok(false) => shared.writer_wake.notify_one(),
                    Err(e) => shared.fail(e),
                }
                return Ok(());
            }
        }
        let lane = match out.priority {
            RequestPriority::High => &shared.high_tx,
            RequestPriority::Normal => &shared.normal_tx,
        };
        let permit = lane.reserve().await.map_err(|_| shared.ended_error())?;
        shared.queued.fetch_add(1, Ordering::AcqRel);
        permit.send(out);
        Ok(())
    }
}
