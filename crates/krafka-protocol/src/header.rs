//! Request and response headers: which header version goes with which API version, and whole
//! frames (length prefix, header, body) written in one pass into one buffer.
//!
//! The header version is not in the frame; both sides derive it from the API key and version:
//! request header v2 and response header v1 for flexible API versions, v1/v0 otherwise. Two
//! exceptions from Kafka: ControlledShutdown v0 uses request header v0 (no client id), and
//! ApiVersions responses always use header v0, so that a client that asked with a version the
//! broker does not know can still read the broker's answer (KIP-511).

use bytes::Bytes;

use crate::codec::{self, Decode, Encode, RequestMessage, ResponseMessage, WriteBuf};
use crate::frame::put_frame_len;
use crate::messages::{RequestHeader, ResponseHeader};
use crate::{ApiKey, DecodeError, EncodeError};

/// The request header version for `version` of `api_key`.
pub const fn request_header_version(api_key: ApiKey, version: i16) -> i16 {
    if api_key.0 == ApiKey::CONTROLLED_SHUTDOWN.0 && version == 0 {
        0
    } else if api_key.is_request_flexible(version) {
        2
    } else {
        1
    }
}

/// The response header version for `version` of `api_key`.
pub const fn response_header_version(api_key: ApiKey, version: i16) -> i16 {
    if api_key.0 == ApiKey::API_VERSIONS.0 {
        0
    } else if api_key.is_response_flexible(version) {
        1
    } else {
        0
    }
}

/// Writes a whole request frame: the 4-byte length, the header and the body.
///
/// The header's `request_api_key` and `request_api_version` are set from `M` and `version`. The
/// size is computed first and reserved once, so a `BytesMut` never reallocates; with a
/// [`ChunkedBuf`](crate::codec::ChunkedBuf), record data is referenced instead of copied.
pub fn encode_request_frame<M: RequestMessage, B: WriteBuf>(
    buf: &mut B,
    header: &RequestHeader,
    body: &M,
    version: i16,
) -> Result<(), EncodeError> {
    let header_version = request_header_version(M::API_KEY, version);
    let header = RequestHeader {
        request_api_key: M::API_KEY.0,
        request_api_version: version,
        ..header.clone()
    };
    let size = header.encoded_size(header_version)? + body.encoded_size(version)?;
    buf.reserve_hint(crate::frame::LENGTH_PREFIX_SIZE + size);
    put_frame_len(buf, size)?;
    header.encode(buf, header_version)?;
    body.encode(buf, version)
}

/// Writes a whole response frame: the 4-byte length, the header and the body.
pub fn encode_response_frame<M: ResponseMessage, B: WriteBuf>(
    buf: &mut B,
    correlation_id: i32,
    body: &M,
    version: i16,
) -> Result<(), EncodeError> {
    let header_version = response_header_version(M::API_KEY, version);
    let header = ResponseHeader {
        correlation_id,
        ..ResponseHeader::default()
    };
    let size = header.encoded_size(header_version)? + body.encoded_size(version)?;
    buf.reserve_hint(crate::frame::LENGTH_PREFIX_SIZE + size);
    put_frame_len(buf, size)?;
    header.encode(buf, header_version)?;
    body.encode(buf, version)
}

/// Reads a request header from the front of a frame body (the broker side), choosing the header
/// version from the API key and version it starts with. The rest of `frame` is the body.
pub fn decode_request_header(frame: &mut Bytes) -> Result<RequestHeader, DecodeError> {
    let mut peek = frame.clone();
    let api_key = ApiKey(codec::get_i16(&mut peek)?);
    let version = codec::get_i16(&mut peek)?;
    let info = api_key
        .info()
        .ok_or(DecodeError::UnknownApiKey(api_key.0))?;
    if !info.versions.contains(version) {
        return Err(DecodeError::UnsupportedVersion {
            api_key: api_key.0,
            version,
        });
    }
    RequestHeader::decode(frame, request_header_version(api_key, version))
}

/// Reads a response header from the front of a frame body (the client side), for a request of
/// `api_key` at `version`. The rest of `frame` is the body.
pub fn decode_response_header(
    frame: &mut Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<ResponseHeader, DecodeError> {
    ResponseHeader::decode(frame, response_header_version(api_key, version))
}

/// Decodes a whole response body of type `M` and checks that nothing is left over.
pub fn decode_response_body<M: ResponseMessage>(
    mut body: Bytes,
    version: i16,
) -> Result<M, DecodeError> {
    let message = M::decode(&mut body, version)?;
    codec::expect_empty(&body, M::NAME)?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StrBytes;
    use crate::messages::{ApiVersionsRequest, HeartbeatRequest, MetadataResponse};
    use bytes::BytesMut;

    #[test]
    fn header_versions_follow_flexibility_and_the_two_exceptions() {
        assert_eq!(request_header_version(ApiKey::FETCH, 11), 1);
        assert_eq!(request_header_version(ApiKey::FETCH, 12), 2);
        assert_eq!(request_header_version(ApiKey::CONTROLLED_SHUTDOWN, 0), 0);
        assert_eq!(request_header_version(ApiKey::CONTROLLED_SHUTDOWN, 1), 1);
        assert_eq!(response_header_version(ApiKey::METADATA, 8), 0);
        assert_eq!(response_header_version(ApiKey::METADATA, 9), 1);
        assert_eq!(response_header_version(ApiKey::API_VERSIONS, 3), 0);
        assert_eq!(request_header_version(ApiKey::API_VERSIONS, 3), 2);
    }

    #[test]
    fn request_frame_round_trips_through_the_broker_side() {
        let header = RequestHeader {
            correlation_id: 42,
            client_id: Some(StrBytes::from_static_str("svc")),
            ..RequestHeader::default()
        };
        let body = HeartbeatRequest {
            group_id: "g".into(),
            generation_id: 7,
            member_id: "m".into(),
            ..HeartbeatRequest::default()
        };
        let mut buf = BytesMut::new();
        encode_request_frame(&mut buf, &header, &body, 4).unwrap();
        let declared = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        assert_eq!(declared, buf.len() - 4);
        let mut frame = buf.freeze().slice(4..);
        let decoded = decode_request_header(&mut frame).unwrap();
        assert_eq!(decoded.request_api_key, ApiKey::HEARTBEAT.0);
        assert_eq!(decoded.request_api_version, 4);
        assert_eq!(decoded.correlation_id, 42);
        assert_eq!(decoded.client_id.as_deref(), Some("svc"));
        assert_eq!(HeartbeatRequest::decode(&mut frame, 4).unwrap(), body);
        assert!(frame.is_empty());
    }

    #[test]
    fn response_frame_round_trips() {
        let body = MetadataResponse {
            throttle_time_ms: 5,
            ..MetadataResponse::default()
        };
        let mut buf = BytesMut::new();
        encode_response_frame(&mut buf, 9, &body, 12).unwrap();
        let mut frame = buf.freeze().slice(4..);
        let header = decode_response_header(&mut frame, ApiKey::METADATA, 12).unwrap();
        assert_eq!(header.correlation_id, 9);
        assert_eq!(
            decode_response_body::<MetadataResponse>(frame, 12).unwrap(),
            body
        );
    }

    #[test]
    fn a_chunked_produce_frame_references_the_record_batch() {
        use crate::codec::ChunkedBuf;
        use crate::messages::ProduceRequest;
        use crate::messages::produce_request::{PartitionProduceData, TopicProduceData};
        let batch = Bytes::from(vec![0xab; 16 * 1024]);
        let body = ProduceRequest {
            acks: -1,
            timeout_ms: 1000,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![PartitionProduceData {
                    index: 0,
                    records: Some(batch.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let header = RequestHeader {
            correlation_id: 1,
            ..RequestHeader::default()
        };
        let mut chunked = ChunkedBuf::with_capacity(128);
        encode_request_frame(&mut chunked, &header, &body, 9).unwrap();
        let mut flat = BytesMut::new();
        encode_request_frame(&mut flat, &header, &body, 9).unwrap();
        let chunks = chunked.into_chunks();
        assert!(
            chunks.iter().any(|c| c.as_ptr() == batch.as_ptr()),
            "batch must not be copied"
        );
        assert_eq!(
            chunks.concat(),
            flat.to_vec(),
            "chunked and flat encodings agree"
        );
    }

    #[test]
    fn unknown_keys_and_versions_are_errors() {
        let mut frame = Bytes::from_static(&[0x7f, 0x00, 0x00, 0x00, 0, 0, 0, 1]);
        assert_eq!(
            decode_request_header(&mut frame),
            Err(DecodeError::UnknownApiKey(0x7f00))
        );
        let mut frame = Bytes::from_static(&[0x00, 0x12, 0x00, 0x63, 0, 0, 0, 1]);
        assert!(matches!(
            decode_request_header(&mut frame),
            Err(DecodeError::UnsupportedVersion {
                api_key: 18,
                version: 99
            })
        ));
        let mut buf = BytesMut::new();
        let err = encode_request_frame(
            &mut buf,
            &RequestHeader::default(),
            &ApiVersionsRequest::default(),
            9,
        );
        assert!(matches!(
            err,
            Err(EncodeError::UnsupportedVersion {
                api_key: 18,
                version: 9
            })
        ));
    }
}
