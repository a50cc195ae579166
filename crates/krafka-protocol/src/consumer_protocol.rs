//! The consumer protocol's embedded bytes: a member's subscription (JoinGroup metadata) and its
//! assignment (SyncGroup answer, DescribeGroups), each a big-endian `i16` version followed by
//! Kafka's `ConsumerProtocolSubscription` or `ConsumerProtocolAssignment` at that version.
//!
//! Other members may be Java or librdkafka clients of any age: a version newer than ours is
//! read as the newest we know (later versions only append fields), a negative version is
//! malformed, and anything malformed is an error, never a panic. The consumer's assignors and
//! the admin client both read these bytes here.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::get_i16;
use crate::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use crate::{Decode, DecodeError, Encode, EncodeError};

/// The subscription version written: v1 owned partitions, v2 generation, v3 rack.
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// The assignment version written.
pub const ASSIGNMENT_VERSION: i16 = 3;

/// The version to read a message of `version` at, when we know up to `newest`.
fn readable(version: i16, newest: i16, what: &'static str) -> Result<i16, DecodeError> {
    if version < 0 {
        return Err(DecodeError::InvalidLength {
            what,
            length: i64::from(version),
        });
    }
    Ok(version.min(newest))
}

/// `subscription` as JoinGroup metadata, at [`SUBSCRIPTION_VERSION`].
pub fn encode_subscription(
    subscription: &ConsumerProtocolSubscription,
) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::with_capacity(2 + subscription.encoded_size(SUBSCRIPTION_VERSION)?);
    buf.put_i16(SUBSCRIPTION_VERSION);
    subscription.encode(&mut buf, SUBSCRIPTION_VERSION)?;
    Ok(buf.freeze())
}

/// A member's subscription from its JoinGroup metadata. A version before 2 carries no
/// generation: it reads as -1.
pub fn decode_subscription(bytes: &Bytes) -> Result<ConsumerProtocolSubscription, DecodeError> {
    let mut buf = bytes.clone();
    let version = readable(
        get_i16(&mut buf)?,
        SUBSCRIPTION_VERSION,
        "subscription version",
    )?;
    let mut subscription = ConsumerProtocolSubscription::decode(&mut buf, version)?;
    if version < 2 {
        subscription.generation_id = -1;
    }
    Ok(subscription)
}

/// `assignment` as SyncGroup bytes, at [`ASSIGNMENT_VERSION`].
pub fn encode_assignment(assignment: &ConsumerProtocolAssignment) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::with_capacity(2 + assignment.encoded_size(ASSIGNMENT_VERSION)?);
    buf.put_i16(ASSIGNMENT_VERSION);
    assignment.encode(&mut buf, ASSIGNMENT_VERSION)?;
    Ok(buf.freeze())
}

/// A member's assignment. Empty bytes are an empty assignment (what some leaders send a
/// member they gave nothing, and what DescribeGroups shows for a group not yet stable).
pub fn decode_assignment(bytes: &Bytes) -> Result<ConsumerProtocolAssignment, DecodeError> {
    if bytes.is_empty() {
        return Ok(ConsumerProtocolAssignment::default());
    }
    let mut buf = bytes.clone();
    let version = readable(get_i16(&mut buf)?, ASSIGNMENT_VERSION, "assignment version")?;
    ConsumerProtocolAssignment::decode(&mut buf, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StrBytes;
    use crate::messages::consumer_protocol_assignment::TopicPartition;

    fn assignment() -> ConsumerProtocolAssignment {
        ConsumerProtocolAssignment {
            assigned_partitions: vec![TopicPartition {
                topic: StrBytes::from_static_str("x"),
                partitions: vec![0, 2],
            }],
            user_data: None,
        }
    }

    #[test]
    fn a_newer_version_is_read_as_the_newest_known_and_a_negative_one_is_refused() {
        let bytes = encode_assignment(&assignment()).unwrap();
        assert_eq!(&bytes[..2], &ASSIGNMENT_VERSION.to_be_bytes());
        let mut newer = BytesMut::from(&bytes[..]);
        newer[..2].copy_from_slice(&9i16.to_be_bytes());
        assert_eq!(decode_assignment(&newer.freeze()).unwrap(), assignment());
        let mut negative = BytesMut::from(&bytes[..]);
        negative[..2].copy_from_slice(&(-1i16).to_be_bytes());
        assert!(decode_assignment(&negative.freeze()).is_err());
        assert_eq!(
            decode_assignment(&Bytes::new()).unwrap(),
            ConsumerProtocolAssignment::default()
        );
    }

    #[test]
    fn a_version_0_subscription_has_no_generation() {
        // Version 0, topics ["t"], user data null: what an eager client of Kafka 2.3 sends.
        let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]);
        let subscription = decode_subscription(&bytes).unwrap();
        assert_eq!(subscription.topics, [StrBytes::from_static_str("t")]);
        assert!(subscription.owned_partitions.is_empty());
        assert_eq!(subscription.generation_id, -1);
    }

    #[test]
    fn hostile_bytes_are_an_error_not_a_panic() {
        for len in 0..40 {
            let bytes = Bytes::from((0..len).map(|i| (i * 37 % 256) as u8).collect::<Vec<u8>>());
            let _ = decode_subscription(&bytes);
            let _ = decode_assignment(&bytes);
        }
    }
}
