//! Everything that happens on a new connection before requests flow: the ApiVersions
//! exchange, then SASL when the security protocol asks for it. It runs on the bare
//! [`Transport`] (already TLS when configured) before the connection task starts, so each step
//! is plain sequential I/O and a new step is one more function call here.
//!
//! SASL follows KIP-152: SaslHandshake v1 names the mechanism, then SaslAuthenticate carries
//! the mechanism's messages; [`SaslSession`] decides, this module only sends and receives.
//! Brokers older than Kafka 1.0 (SaslHandshake v0 only, raw SASL frames) are refused with a
//! clear error.
//!
//! ApiVersions follows KIP-511: ask with the newest version (v3, which also reports the
//! client's software name and version); a broker that does not know it answers with
//! UNSUPPORTED_VERSION in the v0 format, listing the ApiVersions versions it does know, and
//! the client asks again with the highest of those.

use std::io::IoSlice;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use krafka_protocol::codec::VersionRange;
use krafka_protocol::frame::FrameDecoder;
use krafka_protocol::header::{decode_response_body, decode_response_header, encode_request_frame};
use krafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, RequestHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use krafka_protocol::{ApiKey, ErrorCode, Message, RequestMessage, StrBytes};

use crate::config::ConnectionConfig;
use crate::error::NetError;
use crate::security::SaslConfig;
use crate::security::sasl::{SaslFailure, SaslRequest, SaslSession, SessionOutcome};
use crate::transport::{Transport, io_error};

/// The ApiVersions version tried first.
const NEWEST_API_VERSIONS: i16 = 3;

/// The versions of each API that both this client and one broker support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersions {
    /// Indexed by API key; `None` where there is no common version.
    common: Vec<Option<VersionRange>>,
    /// What the broker advertised, before intersecting with this client's range.
    advertised: Vec<Option<VersionRange>>,
}

impl ApiVersions {
    /// The table for a broker that advertised `broker` (api key, min, max).
    pub fn from_advertised(broker: impl IntoIterator<Item = (i16, i16, i16)>) -> Self {
        let mut table = Self::default();
        for (key, min, max) in broker {
            let Ok(index) = usize::try_from(key) else {
                continue;
            };
            if min > max {
                continue;
            }
            if table.advertised.len() <= index {
                table.advertised.resize(index + 1, None);
                table.common.resize(index + 1, None);
            }
            let range = VersionRange::new(min, max);
            table.advertised[index] = Some(range);
            table.common[index] = ApiKey(key)
                .supported_versions()
                .and_then(|ours| ours.intersect(&range));
        }
        table
    }

    /// The highest version of `api_key` both sides support.
    pub fn api_version(&self, api_key: ApiKey) -> Option<i16> {
        self.range(api_key).map(|r| r.max)
    }

    /// The versions of `api_key` both sides support.
    pub fn range(&self, api_key: ApiKey) -> Option<VersionRange> {
        let index = usize::try_from(api_key.0).ok()?;
        self.common.get(index).copied().flatten()
    }

    /// The versions the broker advertised for `api_key`, whether or not this client speaks them.
    pub fn advertised(&self, api_key: ApiKey) -> Option<VersionRange> {
        let index = usize::try_from(api_key.0).ok()?;
        self.advertised.get(index).copied().flatten()
    }
}

/// What the handshake learned.
#[derive(Debug)]
pub(crate) struct HandshakeOutcome {
    pub(crate) versions: ApiVersions,
    /// The SASL session's lifetime, when the broker set one (KIP-368).
    pub(crate) session_lifetime: Option<Duration>,
}

/// Runs the handshake on a fresh transport. Bytes read past the last handshake response are
/// left in `read_buf` for the connection task (a well-behaved broker sends none).
pub(crate) async fn handshake(
    transport: &Transport,
    addr: &str,
    config: &ConnectionConfig,
    read_buf: &mut BytesMut,
) -> Result<HandshakeOutcome, NetError> {
    let versions = negotiate_api_versions(transport, addr, config, read_buf).await?;
    let mut session_lifetime = None;
    if let Some(sasl) = config
        .security
        .sasl
        .as_ref()
        .filter(|_| config.security.protocol.uses_sasl())
    {
        let mut io = HandshakeIo {
            transport,
            addr,
            config,
            read_buf,
            next_correlation_id: 2,
        };
        session_lifetime = authenticate(&mut io, &versions, sasl).await?;
    }
    Ok(HandshakeOutcome {
        versions,
        session_lifetime,
    })
}

/// Sequential request/response I/O on a transport before the connection task runs.
struct HandshakeIo<'a> {
    transport: &'a Transport,
    addr: &'a str,
    config: &'a ConnectionConfig,
    read_buf: &'a mut BytesMut,
    next_correlation_id: i32,
}

impl HandshakeIo<'_> {
    async fn round_trip<M: RequestMessage>(
        &mut self,
        request: &M,
        version: i16,
    ) -> Result<M::Response, NetError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let header = RequestHeader {
            correlation_id,
            client_id: Some(StrBytes::from_string(self.config.client_id.clone())),
            ..Default::default()
        };
        let mut frame = BytesMut::new();
        encode_request_frame(&mut frame, &header, request, version)?;
        write_all(self.transport, self.addr, frame.freeze()).await?;
        let mut body = read_frame(self.transport, self.addr, self.config, self.read_buf).await?;
        let response_header = decode_response_header(&mut body, M::API_KEY, version)?;
        if response_header.correlation_id != correlation_id {
            return Err(NetError::protocol(
                self.addr,
                format_args!(
                    "answer with correlation id {} instead of {correlation_id}",
                    response_header.correlation_id
                ),
            ));
        }
        Ok(decode_response_body::<M::Response>(body, version)?)
    }
}

/// Authenticates with `sasl` at connect time; returns the session lifetime the broker set.
async fn authenticate(
    io: &mut HandshakeIo<'_>,
    versions: &ApiVersions,
    sasl: &SaslConfig,
) -> Result<Option<Duration>, NetError> {
    let addr = io.addr;
    let authenticator = crate::security::sasl::authenticator(sasl)
        .await
        .map_err(|e| authentication_error(addr, sasl, e))?;
    let lifetime = exchange(io, addr, versions, sasl, authenticator).await?;
    tracing::debug!(%addr, mechanism = sasl.mechanism.name(), ?lifetime, "authenticated");
    Ok(lifetime)
}

/// Sends one request of a SASL exchange and waits for its answer: on the bare transport at
/// connect time, on the paused connection when re-authenticating.
pub(crate) trait SaslLink {
    /// One round trip.
    async fn round_trip<M: RequestMessage>(
        &mut self,
        request: &M,
        version: i16,
    ) -> Result<M::Response, NetError>;
}

impl SaslLink for HandshakeIo<'_> {
    async fn round_trip<M: RequestMessage>(
        &mut self,
        request: &M,
        version: i16,
    ) -> Result<M::Response, NetError> {
        HandshakeIo::round_trip(self, request, version).await
    }
}

/// The authentication error for `sasl` at `addr`.
pub(crate) fn authentication_error(addr: &str, sasl: &SaslConfig, e: SaslFailure) -> NetError {
    NetError::Authentication {
        addr: addr.to_owned(),
        mechanism: sasl.mechanism.name(),
        message: e.message.into(),
    }
}

/// One whole SASL exchange over `link` (SaslHandshake, then SaslAuthenticate rounds), decided by
/// a [`SaslSession`]; returns the session lifetime the broker set, if any.
pub(crate) async fn exchange(
    link: &mut impl SaslLink,
    addr: &str,
    versions: &ApiVersions,
    sasl: &SaslConfig,
    authenticator: crate::security::sasl::Authenticator,
) -> Result<Option<Duration>, NetError> {
    let failed = |e: SaslFailure| authentication_error(addr, sasl, e);
    let (handshake_version, authenticate_version) = sasl_versions(versions)
        .ok_or_else(|| failed(SaslFailure::new(
            "the broker does not offer SaslHandshake v1 and SaslAuthenticate (Kafka 1.0 or newer is needed)",
        )))?;
    let mut session = SaslSession::new(sasl.mechanism.name(), authenticator);
    let mut request = session.start().map_err(failed)?;
    loop {
        request = match request {
            SaslRequest::Handshake { mechanism } => {
                let response: SaslHandshakeResponse = link
                    .round_trip(
                        &SaslHandshakeRequest {
                            mechanism: StrBytes::from_static_str(mechanism),
                        },
                        handshake_version,
                    )
                    .await?;
                let enabled: Vec<&str> = response.mechanisms.iter().map(|m| &**m).collect();
                session
                    .on_handshake(response.error_code, &enabled)
                    .map_err(failed)?
            }
            SaslRequest::Authenticate(bytes) => {
                let response: SaslAuthenticateResponse = link
                    .round_trip(
                        &SaslAuthenticateRequest {
                            auth_bytes: bytes.into(),
                            ..Default::default()
                        },
                        authenticate_version,
                    )
                    .await?;
                match session
                    .on_authenticate(
                        response.error_code,
                        response.error_message.as_deref(),
                        &response.auth_bytes,
                        response.session_lifetime_ms,
                    )
                    .map_err(failed)?
                {
                    SessionOutcome::Continue(next) => next,
                    SessionOutcome::Authenticated { session_lifetime } => {
                        return Ok(session_lifetime);
                    }
                }
            }
        };
    }
}

/// The SaslHandshake and SaslAuthenticate versions to use with a broker, if it speaks KIP-152.
pub(crate) fn sasl_versions(versions: &ApiVersions) -> Option<(i16, i16)> {
    let handshake = versions
        .api_version(ApiKey::SASL_HANDSHAKE)
        .filter(|&v| v >= 1)?;
    let authenticate = versions.api_version(ApiKey::SASL_AUTHENTICATE)?;
    Some((handshake, authenticate))
}

async fn negotiate_api_versions(
    transport: &Transport,
    addr: &str,
    config: &ConnectionConfig,
    read_buf: &mut BytesMut,
) -> Result<ApiVersions, NetError> {
    let mut version = NEWEST_API_VERSIONS;
    // At most two rounds: the newest version, then the broker's own newest.
    for correlation_id in 0..2 {
        let request = ApiVersionsRequest {
            client_software_name: StrBytes::from_static_str("krafka"),
            client_software_version: StrBytes::from_static_str(env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let header = RequestHeader {
            correlation_id,
            client_id: Some(StrBytes::from_string(config.client_id.clone())),
            ..Default::default()
        };
        let mut frame = BytesMut::new();
        encode_request_frame(&mut frame, &header, &request, version)?;
        write_all(transport, addr, frame.freeze()).await?;
        let mut body = read_frame(transport, addr, config, read_buf).await?;
        let response_header = decode_response_header(&mut body, ApiKey::API_VERSIONS, version)?;
        if response_header.correlation_id != correlation_id {
            return Err(NetError::protocol(
                addr,
                format_args!(
                    "ApiVersions answered with correlation id {} instead of {correlation_id}",
                    response_header.correlation_id
                ),
            ));
        }
        // An UNSUPPORTED_VERSION answer is in the v0 format whatever we asked with.
        let response = decode_response_body::<ApiVersionsResponse>(body.clone(), version)
            .or_else(|_| decode_response_body::<ApiVersionsResponse>(body, 0))?;
        let code = ErrorCode(response.error_code);
        if code == ErrorCode::UNSUPPORTED_VERSION && correlation_id == 0 {
            let theirs = response
                .api_keys
                .iter()
                .find(|k| k.api_key == ApiKey::API_VERSIONS.0)
                .map_or(0, |k| k.max_version);
            version = theirs.clamp(ApiVersionsRequest::VERSIONS.min, NEWEST_API_VERSIONS - 1);
            tracing::debug!(%addr, version, "broker wants an older ApiVersions; retrying");
            continue;
        }
        if code.is_error() {
            return Err(NetError::Handshake {
                addr: addr.to_owned(),
                code,
            });
        }
        return Ok(ApiVersions::from_advertised(
            response
                .api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version)),
        ));
    }
    Err(NetError::Handshake {
        addr: addr.to_owned(),
        code: ErrorCode::UNSUPPORTED_VERSION,
    })
}

/// Writes all of `bytes`, waiting for the socket as needed.
async fn write_all(transport: &Transport, addr: &str, mut bytes: Bytes) -> Result<(), NetError> {
    while !bytes.is_empty() {
        transport
            .writable()
            .await
            .map_err(|e| NetError::disconnected(addr, e))?;
        match transport.try_write_vectored(&[IoSlice::new(&bytes)]) {
            Ok(0) => return Err(NetError::disconnected(addr, "socket accepted no bytes")),
            Ok(n) => {
                let _ = bytes.split_to(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_error(addr, e)),
        }
    }
    // TLS: the records rustls made must reach the socket before an answer can come.
    while transport.has_pending_output() {
        transport
            .writable()
            .await
            .map_err(|e| NetError::disconnected(addr, e))?;
        transport.flush_output().map_err(|e| io_error(addr, e))?;
    }
    Ok(())
}

/// Reads one whole frame body.
async fn read_frame(
    transport: &Transport,
    addr: &str,
    config: &ConnectionConfig,
    buf: &mut BytesMut,
) -> Result<Bytes, NetError> {
    let mut decoder = FrameDecoder::new(config.max_response_size);
    loop {
        if !transport.is_tls() && looks_like_tls(buf) {
            return Err(NetError::Tls {
                addr: addr.to_owned(),
                reason: "the broker answered in TLS: this is a TLS listener (set security.protocol=SSL or SASL_SSL)".into(),
            });
        }
        if let Some(frame) = decoder
            .decode(buf)
            .map_err(|e| NetError::protocol(addr, e))?
        {
            return Ok(frame);
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        transport
            .readable()
            .await
            .map_err(|e| NetError::disconnected(addr, e))?;
        match transport.try_read(buf) {
            Ok(0) => {
                return Err(NetError::disconnected(
                    addr,
                    "closed by the broker during the handshake (does the listener expect TLS or SASL? check security.protocol)",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_error(addr, e)),
        }
    }
}

/// Whether a plaintext answer starts as a TLS record does (an alert or a handshake, TLS 1.x):
/// its 4 bytes read as a frame length would be hundreds of megabytes, never a Kafka answer.
fn looks_like_tls(buf: &[u8]) -> bool {
    matches!(buf, [0x15 | 0x16, 0x03, 0x00..=0x04, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_versions_are_the_intersection() {
        let ours = ApiKey::FETCH.supported_versions().unwrap();
        let t = ApiVersions::from_advertised([(1, 0, 4), (0, 3, 900), (-5, 0, 1), (2, 5, 1)]);
        assert_eq!(t.api_version(ApiKey::FETCH), Some(4));
        assert_eq!(t.range(ApiKey::FETCH), Some(VersionRange::new(ours.min, 4)));
        let produce_max = ApiKey::PRODUCE.supported_versions().unwrap().max;
        assert_eq!(t.api_version(ApiKey::PRODUCE), Some(produce_max));
        assert_eq!(
            t.advertised(ApiKey::PRODUCE),
            Some(VersionRange::new(3, 900))
        );
        // An inverted range is ignored, an unknown key has no common version.
        assert_eq!(t.api_version(ApiKey::LIST_OFFSETS), None);
        assert_eq!(t.api_version(ApiKey(500)), None);
        assert_eq!(t.api_version(ApiKey(-1)), None);
    }

    #[test]
    fn no_overlap_means_no_version() {
        let ours = ApiKey::HEARTBEAT.supported_versions().unwrap();
        let t = ApiVersions::from_advertised([(ApiKey::HEARTBEAT.0, ours.max + 1, ours.max + 3)]);
        assert_eq!(t.api_version(ApiKey::HEARTBEAT), None);
        assert!(t.advertised(ApiKey::HEARTBEAT).is_some());
    }
}
