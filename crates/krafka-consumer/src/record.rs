//! [`TopicPartition`] and [`ConsumerRecord`], the record handed to the application: a view into
//! the fetched response buffer, so returning one costs two reference-count updates (its topic
//! name and its slice of the batch) and no copy or allocation.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use krafka_protocol::records::{HeadersView, Record, TimestampType};

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One consumed record.
#[derive(Clone)]
pub struct ConsumerRecord {
    topic: Arc<str>,
    partition: i32,
    record: Record,
}

impl ConsumerRecord {
    pub(crate) fn new(topic: Arc<str>, partition: i32, record: Record) -> Self {
        Self {
            topic,
            partition,
            record,
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic, shared.
    pub fn topic_arc(&self) -> &Arc<str> {
        &self.topic
    }

    /// The partition index.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The record's offset in its partition.
    pub fn offset(&self) -> i64 {
        self.record.offset
    }

    /// The timestamp in milliseconds since the epoch (-1 for records from magic-0 batches).
    pub fn timestamp(&self) -> i64 {
        self.record.timestamp
    }

    /// Whether the producer or the broker set the timestamp.
    pub fn timestamp_type(&self) -> TimestampType {
        self.record.timestamp_type
    }

    /// The key, borrowed.
    pub fn key(&self) -> Option<&[u8]> {
        self.record.key()
    }

    /// The value, borrowed.
    pub fn value(&self) -> Option<&[u8]> {
        self.record.value()
    }

    /// The key as a slice of the fetched buffer (no copy).
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.record.key_bytes()
    }

    /// The value as a slice of the fetched buffer (no copy).
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.record.value_bytes()
    }

    /// The headers, borrowed.
    pub fn headers(&self) -> HeadersView<'_> {
        self.record.headers()
    }

    /// The underlying protocol record.
    pub fn record(&self) -> &Record {
        &self.record
    }
}

impl fmt::Debug for ConsumerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerRecord")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.record.offset)
            .field("timestamp", &self.record.timestamp)
            .field("key_len", &self.record.key().map(<[u8]>::len))
            .field("value_len", &self.record.value().map(<[u8]>::len))
            .finish()
    }
}
