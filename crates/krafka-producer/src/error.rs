//! What can go wrong with a record, and the one error type that says so: [`ProduceError`].
//!
//! A record's outcome is shared by every record of its batch, so the error is `Clone`. Errors
//! that end a record after it may have reached a broker say so ([`Written`]), because that is
//! what an application needs to decide whether to resend.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use krafka_net::NetError;
use krafka_protocol::ErrorCode;

use crate::config::ProducerConfigError;

/// Whether a failed record may be in the log anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It is not: no request carrying it was answered ambiguously.
    No,
    /// It may be: a request carrying it was lost or timed out, and no later answer settled it.
    Maybe,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Written::No => "not written",
            Written::Maybe => "may have been written",
        })
    }
}

/// Why a record was not produced, or could not be accepted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProduceError {
    /// `send` waited `max_block` for buffer memory and none was freed: the brokers are not
    /// keeping up (or are unreachable).
    BufferExhausted {
        /// How long the call waited.
        waited: Duration,
        /// The configured `buffer_memory`.
        buffer_memory: usize,
    },
    /// `try_send` found the buffer full; nothing was appended.
    BufferFull,
    /// The record can never be sent: it is larger than a request or the whole buffer may be.
    RecordTooLarge {
        /// The record's encoded size.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
        /// The setting that imposes the limit.
        setting: &'static str,
    },
    /// The topic's metadata did not arrive within `max_block` (it does not exist, or
    /// auto-creation is off).
    UnknownTopic {
        /// The topic.
        topic: Arc<str>,
        /// How long the call waited.
        waited: Duration,
    },
    /// The record names a partition the topic does not have.
    InvalidPartition {
        /// The topic.
        topic: Arc<str>,
        /// The partition asked for.
        partition: i32,
        /// How many partitions the topic has.
        partitions: usize,
    },
    /// `delivery_timeout` passed before the record was acknowledged.
    DeliveryTimeout {
        /// Whether it may have been written anyway.
        written: Written,
        /// The error of its last attempt, if it was attempted.
        last_error: Option<Arc<str>>,
    },
    /// A broker refused the record with an error retrying cannot fix.
    Broker {
        /// The broker's error code.
        code: ErrorCode,
        /// The broker's message, if any.
        message: Option<Arc<str>>,
        /// Whether it may have been written by an earlier attempt.
        written: Written,
    },
    /// The producer can no longer send: it was fenced or is not authorized. Every later record
    /// fails with this error.
    Fatal {
        /// The broker's error code.
        code: ErrorCode,
        /// What happened.
        reason: Arc<str>,
    },
    /// A connection error retrying cannot fix (an encoding or protocol error), or the
    /// bootstrap connection failing.
    Network {
        /// The connection error.
        error: NetError,
        /// Whether the record may have been written by an earlier attempt.
        written: Written,
    },
    /// The record could not be encoded.
    Encode(Arc<str>),
    /// The producer was closed before the record was appended.
    Closed,
    /// `send_blocking` was called on an async runtime thread, where blocking would stall it.
    BlockingInAsyncContext,
    /// The producer could not be built.
    Config(ProducerConfigError),
}

impl ProduceError {
    /// Whether the record may be in the log although this error was returned.
    pub fn may_have_been_written(&self) -> bool {
        matches!(
            self,
            ProduceError::DeliveryTimeout {
                written: Written::Maybe,
                ..
            } | ProduceError::Broker {
                written: Written::Maybe,
                ..
            } | ProduceError::Network {
                written: Written::Maybe,
                ..
            }
        )
    }
}

impl fmt::Display for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProduceError::BufferExhausted {
                waited,
                buffer_memory,
            } => write!(
                f,
                "buffer exhausted: waited {waited:?} (max_block) for {buffer_memory} bytes of \
                 buffer_memory to free up; the brokers are not keeping up"
            ),
            ProduceError::BufferFull => f.write_str("buffer full (try_send does not wait)"),
            ProduceError::RecordTooLarge {
                size,
                limit,
                setting,
            } => write!(
                f,
                "record of {size} bytes is larger than {setting} ({limit} bytes)"
            ),
            ProduceError::UnknownTopic { topic, waited } => write!(
                f,
                "topic {topic:?} not found in metadata after {waited:?} (max_block)"
            ),
            ProduceError::InvalidPartition {
                topic,
                partition,
                partitions,
            } => write!(
                f,
                "partition {partition} does not exist: topic {topic:?} has {partitions}"
            ),
            ProduceError::DeliveryTimeout {
                written,
                last_error,
            } => {
                write!(f, "delivery timeout expired; the record {written}")?;
                if let Some(e) = last_error {
                    write!(f, " (last error: {e})")?;
                }
                Ok(())
            }
            ProduceError::Broker {
                code,
                message,
                written,
            } => {
                write!(f, "broker refused the record: {code}")?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                if *written == Written::Maybe {
                    write!(f, "; an earlier attempt {written}")?;
                }
                Ok(())
            }
            ProduceError::Fatal { code, reason } => {
                write!(f, "producer can no longer send: {reason} ({code})")
            }
            ProduceError::Network { error, written } => {
                write!(f, "network error: {error}")?;
                if *written == Written::Maybe {
                    write!(f, "; the record {written}")?;
                }
                Ok(())
            }
            ProduceError::Encode(e) => write!(f, "could not encode the record: {e}"),
            ProduceError::Closed => f.write_str("the producer is closed"),
            ProduceError::BlockingInAsyncContext => f.write_str(
                "send_blocking called from an async runtime thread; use send().await there",
            ),
            ProduceError::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ProduceError {}

impl From<ProducerConfigError> for ProduceError {
    fn from(e: ProducerConfigError) -> Self {
        ProduceError::Config(e)
    }
}
