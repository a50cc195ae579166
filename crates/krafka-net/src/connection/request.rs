//! What travels through a connection: a request already encoded into its frame (waiting only
//! for its correlation id), its priority, and the response handed back to the caller.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use krafka_protocol::codec::{ChunkedBuf, Encode};
use krafka_protocol::frame::put_frame_len;
use krafka_protocol::header::{
    decode_response_body, decode_response_header, request_header_version,
};
use krafka_protocol::messages::{RequestHeader, ResponseHeader};
use krafka_protocol::{ApiKey, EncodeError, ResponseMessage, StrBytes};
use tokio::sync::oneshot;

use crate::error::NetError;

/// Which lane a request waits in when the connection is busy.
///
/// The writer always empties the high lane before taking from the normal lane, so a heartbeat
/// never waits behind queued fetches *in the client*. It can still wait behind them *in the
/// broker*, which serves one request per connection at a time; the coordination connection
/// ([`ConnectionPool::get_coordination_connection`](crate::ConnectionPool::get_coordination_connection))
/// fixes that part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestPriority {
    /// Small, latency-critical control requests.
    High,
    /// Everything else.
    Normal,
}

impl RequestPriority {
    /// The default priority of an API: High for Heartbeat, Metadata, FindCoordinator,
    /// ApiVersions and LeaderAndIsr (requests whose delay makes a member fall out of its group
    /// or leaves clients routing to the wrong broker); Normal for Produce, Fetch, OffsetCommit,
    /// OffsetFetch and every other API.
    pub fn for_api(api_key: ApiKey) -> Self {
        match api_key {
            ApiKey::HEARTBEAT
            | ApiKey::METADATA
            | ApiKey::FIND_COORDINATOR
            | ApiKey::API_VERSIONS
            | ApiKey::LEADER_AND_ISR => Self::High,
            _ => Self::Normal,
        }
    }
}

/// Where the outcome of a request goes.
pub(crate) enum Reply {
    /// The response frame (header and body, length prefix removed).
    Response(oneshot::Sender<Result<Bytes, NetError>>),
    /// No response is expected; told once the request is queued for the socket in order.
    Written(oneshot::Sender<Result<(), NetError>>),
}

impl Reply {
    pub(crate) fn fail(self, error: NetError) {
        match self {
            Self::Response(tx) => {
                let _ = tx.send(Err(error));
            }
            Self::Written(tx) => {
                let _ = tx.send(Err(error));
            }
        }
    }

    pub(crate) fn expects_response(&self) -> bool {
        matches!(self, Self::Response(_))
    }
}

/// The byte offset of the correlation id in a request frame: after the 4-byte length, the
/// 2-byte API key and the 2-byte version, in every request header version.
const CORRELATION_ID_OFFSET: usize = 8;

/// A request encoded by its caller, waiting for the connection to give it a correlation id.
pub(crate) struct Outgoing {
    /// The length prefix and request header.
    pub(crate) head: BytesMut,
    /// The body, as chunks (record data is referenced, not copied).
    pub(crate) body: Vec<Bytes>,
    pub(crate) api_key: ApiKey,
    pub(crate) version: i16,
    pub(crate) priority: RequestPriority,
    pub(crate) reply: Reply,
}

impl Outgoing {
    /// Encodes the body with `encode`, then the length prefix and header in front of it, with a
    /// placeholder correlation id.
    pub(crate) fn encode<F>(
        api_key: ApiKey,
        version: i16,
        client_id: &StrBytes,
        size_hint: usize,
        encode: F,
        priority: RequestPriority,
        reply: Reply,
    ) -> Result<Self, NetError>
    where
        F: FnOnce(&mut ChunkedBuf) -> Result<(), EncodeError>,
    {
        let known = api_key
            .supported_versions()
            .is_some_and(|v| v.contains(version));
        if !known {
            return Err(NetError::InvalidRequest(
                "API key or version unknown to this client",
            ));
        }
        let mut body = ChunkedBuf::with_capacity(size_hint.clamp(64, 16 * 1024));
        encode(&mut body)?;
        let header = RequestHeader {
            request_api_key: api_key.0,
            request_api_version: version,
            correlation_id: 0,
            client_id: Some(client_id.clone()),
            ..Default::default()
        };
        let header_version = request_header_version(api_key, version);
        let header_size = header.encoded_size(header_version)?;
        let mut head = BytesMut::with_capacity(4 + header_size);
        put_frame_len(&mut head, header_size + body.len())?;
        header.encode(&mut head, header_version)?;
        Ok(Self {
            head,
            body: body.into_chunks(),
            api_key,
            version,
            priority,
            reply,
        })
    }
}

/// Writes `correlation_id` into a request head built by [`Outgoing::encode`].
pub(crate) fn set_correlation_id(head: &mut BytesMut, correlation_id: i32) {
    if let Some(slot) = head.get_mut(CORRELATION_ID_OFFSET..CORRELATION_ID_OFFSET + 4) {
        slot.copy_from_slice(&correlation_id.to_be_bytes());
    }
}

/// A response as received: its API, the version it answers, and the frame (header and body).
#[derive(Debug, Clone)]
pub struct Response {
    api_key: ApiKey,
    version: i16,
    frame: Bytes,
}

impl Response {
    pub(crate) fn new(api_key: ApiKey, version: i16, frame: Bytes) -> Self {
        Self {
            api_key,
            version,
            frame,
        }
    }

    /// The API this answers.
    pub fn api_key(&self) -> ApiKey {
        self.api_key
    }

    /// The request version it answers (and is encoded in).
    pub fn version(&self) -> i16 {
        self.version
    }

    /// The undecoded frame: response header, then body.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// Splits off the response header; the rest is the body.
    pub fn into_header_and_body(self) -> Result<(ResponseHeader, Bytes), NetError> {
        let mut body = self.frame;
        let header = decode_response_header(&mut body, self.api_key, self.version)?;
        Ok((header, body))
    }

    /// Decodes the body as `M`, which must be the response of this API.
    pub fn decode<M: ResponseMessage>(self) -> Result<M, NetError> {
        if M::API_KEY != self.api_key {
            return Err(NetError::InvalidRequest(
                "decoding a response as another API's message",
            ));
        }
        let version = self.version;
        let (_, body) = self.into_header_and_body()?;
        Ok(decode_response_body::<M>(body, version)?)
    }
}

/// The response to a request already queued on a connection (see
/// [`BrokerConnection::enqueue`](crate::BrokerConnection::enqueue)).
///
/// Cancel-safe: dropping it discards the response when it arrives; the connection stays in step.
#[must_use = "the response is lost if this is dropped"]
pub struct ResponseFuture {
    pub(crate) rx: oneshot::Receiver<Result<Bytes, NetError>>,
    pub(crate) api_key: ApiKey,
    pub(crate) version: i16,
    pub(crate) addr: Arc<str>,
}

impl Future for ResponseFuture {
    type Output = Result<Response, NetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.rx)
            .poll(cx)
            .map(|received| match received {
                Ok(Ok(frame)) => Ok(Response::new(this.api_key, this.version, frame)),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(NetError::Closed {
                    addr: this.addr.to_string(),
                }),
            })
    }
}
