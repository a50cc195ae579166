//! The consumer protocol's bytes in the assignors' terms: a member's subscription (JoinGroup
//! metadata) as an [`assignor::Member`](super::Member), and an assignment (SyncGroup) as
//! partitions. The bytes themselves (version prefix, newer versions read as the newest known)
//! are [`krafka_protocol::consumer_protocol`]'s.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use krafka_protocol::consumer_protocol;
use krafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, consumer_protocol_assignment,
    consumer_protocol_subscription,
};
use krafka_protocol::{DecodeError, EncodeError, StrBytes};

use super::Member;
use crate::record::TopicPartition;

/// Groups partitions by topic, topics and partitions in order.
fn by_topic(partitions: &[TopicPartition]) -> Vec<(Arc<str>, Vec<i32>)> {
    let mut topics =
        krafka_protocol::grouping::by_topic(partitions, |tp| tp.topic.clone(), |tp| tp.partition);
    topics.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, partitions) in &mut topics {
        partitions.sort_unstable();
    }
    topics
}

/// Topics with their partition numbers, as both messages carry them, to partitions.
fn flatten<'a>(topics: impl Iterator<Item = (&'a StrBytes, &'a [i32])>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(topic, partitions)| {
            let topic: Arc<str> = Arc::from(topic.as_str());
            partitions
                .iter()
                .map(move |&p| TopicPartition::new(topic.clone(), p))
        })
        .collect()
}

/// The JoinGroup metadata of a member subscribing to `topics` and owning `owned` since
/// `generation`.
pub(crate) fn encode_subscription(
    topics: &BTreeSet<Arc<str>>,
    owned: &[TopicPartition],
    generation: i32,
) -> Result<Bytes, EncodeError> {
    let subscription = ConsumerProtocolSubscription {
        topics: topics.iter().map(|t| StrBytes::from(&**t)).collect(),
        user_data: None,
        owned_partitions: by_topic(owned)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_subscription::TopicPartition {
                    topic: StrBytes::from(&*topic),
                    partitions,
                },
            )
            .collect(),
        generation_id: generation,
        rack_id: None,
    };
    consumer_protocol::encode_subscription(&subscription)
}

/// A member's subscription from its JoinGroup metadata (and its static instance id, if any).
pub(crate) fn decode_subscription(
    member_id: &str,
    instance_id: Option<&str>,
    metadata: &Bytes,
) -> Result<Member, DecodeError> {
    let subscription = consumer_protocol::decode_subscription(metadata)?;
    let owned = flatten(
        subscription
            .owned_partitions
            .iter()
            .map(|t| (&t.topic, t.partitions.as_slice())),
    );
    Ok(Member {
        id: member_id.to_owned(),
        instance_id: instance_id.map(str::to_owned),
        topics: subscription
            .topics
            .iter()
            .map(|t| Arc::from(t.as_str()))
            .collect(),
        owned,
        generation: subscription.generation_id,
    })
}

/// The SyncGroup bytes giving a member `partitions`.
pub(crate) fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes, EncodeError> {
    let assignment = ConsumerProtocolAssignment {
        assigned_partitions: by_topic(partitions)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_assignment::TopicPartition {
                    topic: StrBytes::from(&*topic),
                    partitions,
                },
            )
            .collect(),
        user_data: None,
    };
    consumer_protocol::encode_assignment(&assignment)
}

/// A member's partitions from its SyncGroup answer. Empty bytes are an empty assignment (what
/// a leader sends a member it gave nothing, in some clients).
pub(crate) fn decode_assignment(bytes: &Bytes) -> Result<Vec<TopicPartition>, DecodeError> {
    let assignment = consumer_protocol::decode_assignment(bytes)?;
    let mut partitions = flatten(
        assignment
            .assigned_partitions
            .iter()
            .map(|t| (&t.topic, t.partitions.as_slice())),
    );
    partitions.sort();
    partitions.dedup();
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tp(topic: &str, p: i32) -> TopicPartition {
        TopicPartition::new(topic, p)
    }

    #[test]
    fn a_subscription_round_trips_with_its_owned_partitions_and_generation() {
        let topics: BTreeSet<Arc<str>> = [Arc::from("a"), Arc::from("b")].into();
        let owned = [tp("b", 3), tp("a", 1), tp("b", 0)];
        let bytes = encode_subscription(&topics, &owned, 7).unwrap();
        assert_eq!(&bytes[..2], &3i16.to_be_bytes());
        let member = decode_subscription("m-1", Some("i-1"), &bytes).unwrap();
        assert_eq!(member.id, "m-1");
        assert_eq!(member.instance_id.as_deref(), Some("i-1"));
        assert_eq!(member.topics, topics);
        assert_eq!(member.owned, [tp("a", 1), tp("b", 0), tp("b", 3)]);
        assert_eq!(member.generation, 7);
    }

    #[test]
    fn a_version_0_subscription_from_an_old_client_has_no_owned_partitions() {
        // Version 0, topics ["t"], user data null: what an eager client of Kafka 2.3 sends.
        let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff]);
        let member = decode_subscription("old", None, &bytes).unwrap();
        assert_eq!(member.topics.len(), 1);
        assert!(member.owned.is_empty());
        assert_eq!(member.generation, -1);
    }

    #[test]
    fn an_assignment_round_trips_and_empty_bytes_are_no_partitions() {
        let given = [tp("x", 2), tp("x", 0), tp("y", 5)];
        let bytes = encode_assignment(&given).unwrap();
        assert_eq!(
            decode_assignment(&bytes).unwrap(),
            [tp("x", 0), tp("x", 2), tp("y", 5)]
        );
        assert!(decode_assignment(&Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn a_newer_version_is_read_as_the_newest_known() {
        let mut bytes = bytes::BytesMut::from(&encode_assignment(&[tp("x", 1)]).unwrap()[..]);
        bytes[..2].copy_from_slice(&9i16.to_be_bytes());
        assert_eq!(decode_assignment(&bytes.freeze()).unwrap(), [tp("x", 1)]);
    }

    proptest! {
        /// Hostile bytes from another member are an error or a value, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let bytes = Bytes::from(bytes);
            let _ = decode_subscription("m", None, &bytes);
            let _ = decode_assignment(&bytes);
        }
    }
}
