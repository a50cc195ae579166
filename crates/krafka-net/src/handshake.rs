//! Everything that happens on a new connection before requests flow: today the ApiVersions
//! exchange, later SASL. It runs on the bare [`Transport`] before the connection task starts,
//! so each step is plain sequential I/O and a new step is one more function call here.
//!
//! ApiVersions follows KIP-511: ask with the newest version (v3, which also reports the
//! client's software name and version); a broker that does not know it answers with
//! UNSUPPORTED_VERSION in the v0 format, listing the ApiVersions versions it does know, and
//! the client asks again with the highest of those.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use krafka_protocol::codec::VersionRange;
use krafka_protocol::frame::FrameDecoder;
use krafka_protocol::header::{decode_response_body, decode_response_header, encode_request_frame};
use krafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, RequestHeader};
use krafka_protocol::{ApiKey, ErrorCode, Message, StrBytes};

use crate::config::ConnectionConfig;
use crate::error::NetError;
use crate::transport::Transport;

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

/// Runs the handshake on a fresh transport. Bytes read past the last handshake response are
/// left in `read_buf` for the connection task (a well-behaved broker sends none).
pub(crate) async fn handshake(
    transport: &Transport,
    addr: &str,
    config: &ConnectionConfig,
    read_buf: &mut BytesMut,
) -> Result<ApiVersions, NetError> {
    negotiate_api_versions(transport, addr, config, read_buf).await
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
            Err(e) => return Err(NetError::disconnected(addr, e)),
        }
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
            Ok(0) => return Err(NetError::disconnected(addr, "closed during the handshake")),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(NetError::disconnected(addr, e)),
        }
    }
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
