//! What an application hands the producer ([`ProducerRecord`]) and what it gets back
//! ([`RecordMetadata`]).
//!
//! Keys, values and header values are [`Bytes`]: the record is encoded into its batch once,
//! and nothing else copies the payload. The topic is an `Arc<str>`, so a hot loop that clones
//! one topic handle allocates nothing per record.

use std::sync::Arc;

use bytes::Bytes;
use krafka_protocol::StrBytes;

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The header key.
    pub key: StrBytes,
    /// The header value; `None` is a null value.
    pub value: Option<Bytes>,
}

/// A record to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; keyed records go to the partition Java's murmur2 partitioner picks.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<RecordHeader>,
    /// The create time in milliseconds since the epoch; `None` stamps the time of `send`.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with no key, value or headers yet.
    pub fn new(topic: impl Into<Arc<str>>) -> Self {
        Self {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sends to this partition instead of the partitioner's choice.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<StrBytes>, value: Option<Bytes>) -> Self {
        self.headers.push(RecordHeader {
            key: key.into(),
            value,
        });
        self
    }

    /// Sets the create time (milliseconds since the epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The record's size in a batch at most (Kafka's `estimateSizeInBytesUpperBound`):
    /// varint prefixes at their widest, plus the fields.
    pub fn size_upper_bound(&self) -> usize {
        const FIXED: usize = 5 + 1 + 10 + 5 + 5;
        let field = |b: &Option<Bytes>| 5 + b.as_ref().map_or(0, Bytes::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|h| 5 + h.key.as_str().len() + field(&h.value))
            .sum();
        FIXED + field(&self.key) + field(&self.value) + headers
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset; `None` with acks=0 (there is no answer), or when a retry was
    /// recognised as a duplicate of a batch the broker no longer has the offset of.
    pub offset: Option<i64>,
    /// The record's timestamp: its create time, or the broker's log append time when the
    /// topic uses `LogAppendTime`.
    pub timestamp: i64,
}
