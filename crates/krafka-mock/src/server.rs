//! One broker's listener and its connection tasks.
//!
//! Each connection is served the way a Kafka broker serves it: one request at a time, in
//! order, so a long-polling fetch holds up the requests behind it on the same connection.
//! Frames are split off the read buffer without copying; responses are encoded size-first
//! into one buffer and written whole.

use bytes::{Bytes, BytesMut};
use krafka_protocol::codec::{self, Encode};
use krafka_protocol::frame::{FrameDecoder, put_frame_len};
use krafka_protocol::header::{decode_request_header, response_header_version};
use krafka_protocol::messages::{ApiVersionsResponse, RequestBody, ResponseBody, ResponseHeader};
use krafka_protocol::{ApiKey, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, warn};

use std::time::Instant;

use crate::faults::{self, Control, RequestInfo};
use crate::handlers::{self, BrokerContext};
use crate::security::sasl::ConnAuth;
use crate::state::RequestRecord;

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, ctx: BrokerContext, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    debug!(node = ctx.node_id, %peer, "connection accepted");
                    let _ = stream.set_nodelay(true);
                    let mut conn = ctx.clone();
                    conn.peer = Some(peer);
                    let shutdown = shutdown.clone();
                    match ctx.security.tls.clone() {
                        None => {
                            tokio::spawn(serve_connection(stream, conn, shutdown));
                        }
                        Some(acceptor) => {
                            tokio::spawn(async move {
                                let accepted =
                                    tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                                match accepted {
                                    Ok(Ok(tls)) => serve_connection(tls, conn, shutdown).await,
                                    Ok(Err(e)) => debug!(node = conn.node_id, %peer, error = %e, "TLS handshake failed"),
                                    Err(_) => debug!(node = conn.node_id, %peer, "TLS handshake timed out"),
                                }
                            });
                        }
                    }
                }
                Err(e) => warn!(node = ctx.node_id, error = %e, "accept failed"),
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    ctx: BrokerContext,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut auth = ConnAuth::new(ctx.security.sasl.clone());
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut frames = FrameDecoder::default();
    let mut output = BytesMut::new();
    loop {
        loop {
            let frame = match frames.decode(&mut input) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    warn!(node = ctx.node_id, error = %e, "bad frame; closing");
                    return;
                }
            };
            output.clear();
            let mute = match respond(&ctx, &mut auth, frame, &mut output).await {
                Ok(Throttled(ms)) => ms,
                Err(CLOSE_AFTER_ANSWER) => {
                    // A SASL failure: the answer goes out, then the connection closes.
                    let _ = stream.write_all(&output).await;
                    let _ = stream.flush().await;
                    let _ = stream.shutdown().await;
                    return;
                }
                Err(NO_ANSWER) => {
                    // Like a hung broker: the connection stays open and nothing more is served.
                    let _ = shutdown.changed().await;
                    return;
                }
                Err(reason) => {
                    debug!(node = ctx.node_id, reason, "closing connection");
                    return;
                }
            };
            if !output.is_empty()
                && (stream.write_all(&output).await.is_err() || stream.flush().await.is_err())
            {
                return;
            }
            if mute > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(mute as u64)).await;
            }
        }
        tokio::select! {
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Decodes one request, handles it and encodes its response (nothing for acks=0). An error
/// closes the connection, as a Kafka broker does for a request it cannot parse.
async fn respond(
    ctx: &BrokerContext,
    auth: &mut ConnAuth,
    frame: Bytes,
    out: &mut BytesMut,
) -> Result<Throttled, &'static str> {
    let mut peek = frame.clone();
    let api_key = ApiKey(codec::get_i16(&mut peek).map_err(|_| "short header")?);
    let version = codec::get_i16(&mut peek).map_err(|_| "short header")?;
    let correlation_id = codec::get_i32(&mut peek).map_err(|_| "short header")?;
    auth.admit(api_key, Instant::now())?;
    if !handlers::supports(ctx, api_key, version) {
        if api_key == ApiKey::API_VERSIONS {
            // KIP-511: answer an unknown ApiVersions version in v0 with the versions we do
            // support, so the client can retry with one of them.
            let body = ApiVersionsResponse {
                error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                api_keys: handlers::advertised(ctx),
                ..Default::default()
            };
            return write_response(out, correlation_id, api_key, 0, &body.into())
                .map(|()| Throttled(0));
        }
        return Err("unsupported API or version");
    }
    let mut body = frame;
    let header = decode_request_header(&mut body).map_err(|_| "bad request header")?;
    let client_id = header.client_id.as_deref().unwrap_or_default().to_string();
    let request = RequestBody::decode(api_key, version, &mut body).map_err(|_| "bad request")?;
    ctx.state.requests.lock().push(RequestRecord {
        broker: ctx.node_id,
        api_key,
        version,
        correlation_id,
        peer: ctx.peer,
        at: Instant::now(),
    });
    let info = RequestInfo {
        broker: ctx.node_id,
        api_key,
        version,
        body: &request,
    };
    let control = ctx.state.hooks.decide(&info);
    // The SASL APIs are answered from the connection's own state (after any delay a hook set).
    let passes = matches!(control, Control::Pass | Control::Delay(_));
    let sasl = match &request {
        RequestBody::SaslHandshake(r) if passes => Some(auth.handshake(r, version)?),
        _ => None,
    };
    if let Some((response, close)) = sasl {
        write_response(out, correlation_id, api_key, version, &response.into())?;
        return if close {
            Err(CLOSE_AFTER_ANSWER)
        } else {
            Ok(Throttled(0))
        };
    }
    if let (RequestBody::SaslAuthenticate(r), true) = (&request, passes) {
        let answer = auth.authenticate(r, version, Instant::now());
        write_response(
            out,
            correlation_id,
            api_key,
            version,
            &answer.response.into(),
        )?;
        return if answer.close {
            Err(CLOSE_AFTER_ANSWER)
        } else {
            Ok(Throttled(0))
        };
    }
    match control {
        Control::Pass => {}
        Control::Delay(pause) => tokio::time::sleep(pause).await,
        Control::Disconnect => return Err("fault: disconnect"),
        Control::NoAnswer => return Err(NO_ANSWER),
        Control::Error(code) => {
            return match handlers::error_response(&request, code) {
                Some(response) => write_response(out, correlation_id, api_key, version, &response)
                    .map(|()| Throttled(0)),
                None => Err("fault: no error response for this API"),
            };
        }
        Control::ApplyThenDisconnect | Control::ApplyThenError(_) => {}
    }
    let error_body = match control {
        Control::ApplyThenError(code) => handlers::error_response(&request, code),
        _ => None,
    };
    let response = handlers::handle(ctx, version, &client_id, request).await;
    let throttle = ctx.state.throttle(ctx.node_id);
    let written = match (control, response) {
        (Control::ApplyThenDisconnect, _) => Err("fault: applied, then disconnect"),
        (Control::ApplyThenError(_), _) => match error_body {
            Some(body) => write_response(out, correlation_id, api_key, version, &body),
            None => Err("fault: no error response for this API"),
        },
        (_, Some(mut response)) => {
            if throttle > 0 {
                faults::set_throttle(&mut response, throttle);
            }
            write_response(out, correlation_id, api_key, version, &response)
        }
        (_, None) => Ok(()),
    };
    Ok(Throttled(written.map(|()| throttle)?))
}

/// A response written, and how long to mute the connection after sending it (KIP-219: a
/// throttled broker answers at once, then serves nothing more on the connection until the
/// throttle time has passed).
pub struct Throttled(pub i32);

/// The reason [`respond`] gives for a request that must never be answered.
pub const NO_ANSWER: &str = "fault: never answer";

/// The reason [`respond`] gives when its answer must be sent and the connection then closed
/// (a failed authentication).
pub const CLOSE_AFTER_ANSWER: &str = "answer, then close";

fn write_response(
    out: &mut BytesMut,
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    body: &ResponseBody,
) -> Result<(), &'static str> {
    let header_version = response_header_version(api_key, version);
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    let size = header.encoded_size(header_version).map_err(|_| "encode")?
        + body.encoded_size(version).map_err(|_| "encode")?;
    out.reserve(4 + size);
    put_frame_len(out, size).map_err(|_| "encode")?;
    header.encode(out, header_version).map_err(|_| "encode")?;
    body.encode(out, version).map_err(|_| "encode")
}
