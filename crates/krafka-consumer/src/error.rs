//! [`ConsumeError`]: everything a consumer call can fail with, each variant saying what
//! happened and to which partition.

use std::fmt;

use krafka_net::NetError;
use krafka_protocol::{DecodeError, ErrorCode};

use crate::TopicPartition;
use crate::config::ConsumerConfigError;

/// Why a consumer call failed.
#[derive(Debug)]
pub enum ConsumeError {
    /// The settings contradict each other.
    Config(ConsumerConfigError),
    /// No broker could be reached, or a connection failed.
    Network(NetError),
    /// The position of a partition is outside its log and `auto_offset_reset` is
    /// [`OffsetReset::None`](crate::OffsetReset::None): seek to continue.
    OffsetOutOfRange {
        /// The partition.
        partition: TopicPartition,
        /// The offset that was out of range.
        offset: i64,
    },
    /// A partition has no position and `auto_offset_reset` is
    /// [`OffsetReset::None`](crate::OffsetReset::None): seek to start it.
    NoPosition(TopicPartition),
    /// A batch failed its checksum or could not be decoded. The position stays before it (as
    /// in Java); seek past it to skip it.
    Corrupt {
        /// The partition.
        partition: TopicPartition,
        /// The consumer's position, the first offset not yet returned.
        offset: i64,
        /// What was wrong.
        error: DecodeError,
    },
    /// The broker refused a request for a partition with an error that retrying cannot fix
    /// (TOPIC_AUTHORIZATION_FAILED, …).
    Broker {
        /// The partition.
        partition: TopicPartition,
        /// The broker's error code.
        code: ErrorCode,
    },
    /// The partition is not assigned to this consumer.
    NotAssigned(TopicPartition),
    /// The consumer group refused a request (a commit, an offset lookup) or the member itself
    /// (FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED, …; those end its membership).
    Group(ErrorCode),
    /// The call needs a consumer group, and the consumer has no `group_id`.
    NoGroup,
    /// `subscribe` and `assign` do not mix (as in Java): unsubscribe first, or use one.
    SubscriptionConflict,
    /// The consumer was closed.
    Closed,
}

impl fmt::Display for ConsumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumeError::Config(e) => write!(f, "{e}"),
            ConsumeError::Network(e) => write!(f, "network: {e}"),
            ConsumeError::OffsetOutOfRange { partition, offset } => write!(
                f,
                "offset {offset} is out of range for {partition} and auto_offset_reset is none"
            ),
            ConsumeError::NoPosition(p) => write!(
                f,
                "{p} has no position and auto_offset_reset is none: seek first"
            ),
            ConsumeError::Corrupt {
                partition,
                offset,
                error,
            } => write!(f, "corrupt data in {partition} at offset {offset}: {error}"),
            ConsumeError::Broker { partition, code } => {
                write!(f, "the broker refused {partition}: {code}")
            }
            ConsumeError::NotAssigned(p) => write!(f, "{p} is not assigned to this consumer"),
            ConsumeError::Group(code) => write!(f, "the consumer group refused: {code}"),
            ConsumeError::NoGroup => write!(f, "this needs a group_id, and the consumer has none"),
            ConsumeError::SubscriptionConflict => write!(
                f,
                "subscribe and assign cannot be mixed: unsubscribe (or assign nothing) first"
            ),
            ConsumeError::Closed => write!(f, "the consumer is closed"),
        }
    }
}

impl std::error::Error for ConsumeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConsumeError::Config(e) => Some(e),
            ConsumeError::Network(e) => Some(e),
            ConsumeError::Corrupt { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<ConsumerConfigError> for ConsumeError {
    fn from(e: ConsumerConfigError) -> Self {
        ConsumeError::Config(e)
    }
}

impl From<NetError> for ConsumeError {
    fn from(e: NetError) -> Self {
        ConsumeError::Network(e)
    }
}
