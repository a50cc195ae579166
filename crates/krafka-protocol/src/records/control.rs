//! Control records: the transaction markers (and KRaft metadata) that live in control batches.
//!
//! A control batch has the control attribute set; each of its records carries a key of
//! `version: i16, type: i16` and a type-specific value. Consumers skip control batches, but
//! read-committed consumers need the commit and abort markers to filter aborted transactions,
//! and the mock broker writes them, so both directions live here.

use bytes::Bytes;

use super::builder::{BatchOptions, RecordBatchBuilder};
use super::record::Record;
use crate::compression::Codecs;
use crate::{DecodeError, EncodeError};

/// The type of a control record, from its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// A transaction was aborted (0).
    Abort,
    /// A transaction was committed (1).
    Commit,
    /// KRaft: the leader changed (2).
    LeaderChange,
    /// KRaft: a snapshot begins (3).
    SnapshotHeader,
    /// KRaft: a snapshot ends (4).
    SnapshotFooter,
    /// KRaft: the kraft.version feature (5).
    KraftVersion,
    /// KRaft: the voter set (6).
    KraftVoters,
    /// A type this crate does not know; Kafka's consumer ignores these.
    Unknown(i16),
}

impl ControlRecordType {
    /// The type with the given id.
    pub const fn from_id(id: i16) -> Self {
        match id {
            0 => Self::Abort,
            1 => Self::Commit,
            2 => Self::LeaderChange,
            3 => Self::SnapshotHeader,
            4 => Self::SnapshotFooter,
            5 => Self::KraftVersion,
            6 => Self::KraftVoters,
            other => Self::Unknown(other),
        }
    }

    /// The type's id.
    pub const fn id(self) -> i16 {
        match self {
            Self::Abort => 0,
            Self::Commit => 1,
            Self::LeaderChange => 2,
            Self::SnapshotHeader => 3,
            Self::SnapshotFooter => 4,
            Self::KraftVersion => 5,
            Self::KraftVoters => 6,
            Self::Unknown(id) => id,
        }
    }
}

/// The key of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlRecordKey {
    /// The key's schema version (0 is the only one Kafka defines; later versions must keep
    /// the type in the same place).
    pub version: i16,
    /// The record's type.
    pub record_type: ControlRecordType,
}

impl ControlRecordKey {
    /// Parses a control record key. Bytes after the type (a later version's fields) are
    /// ignored, as Kafka does.
    pub fn parse(key: &[u8]) -> Result<Self, DecodeError> {
        let (version, rest) = key.split_first_chunk::<2>().ok_or(DecodeError::Truncated {
            what: "control record key",
        })?;
        let version = i16::from_be_bytes(*version);
        if version < 0 {
            return Err(DecodeError::InvalidRecord {
                what: "negative control record key version",
            });
        }
        let (record_type, _) = rest
            .split_first_chunk::<2>()
            .ok_or(DecodeError::Truncated {
                what: "control record key",
            })?;
        Ok(Self {
            version,
            record_type: ControlRecordType::from_id(i16::from_be_bytes(*record_type)),
        })
    }

    /// Parses the key of a record from a control batch.
    pub fn of(record: &Record) -> Result<Self, DecodeError> {
        let key = record.key().ok_or(DecodeError::UnexpectedNull {
            what: "control record key",
        })?;
        Self::parse(key)
    }

    /// The encoded key (version 0 layout).
    pub fn to_bytes(self) -> [u8; 4] {
        let mut out = [0; 4];
        out[..2].copy_from_slice(&self.version.to_be_bytes());
        out[2..].copy_from_slice(&self.record_type.id().to_be_bytes());
        out
    }
}

/// A transaction marker: the commit or abort control record a transaction coordinator has
/// the partition leaders write when a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTransactionMarker {
    /// Whether the transaction committed (else it aborted).
    pub commit: bool,
    /// The epoch of the coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTransactionMarker {
    /// Reads a marker from a record of a control batch; `Ok(None)` when the record is a
    /// control record of another type.
    pub fn from_record(record: &Record) -> Result<Option<Self>, DecodeError> {
        let commit = match ControlRecordKey::of(record)?.record_type {
            ControlRecordType::Commit => true,
            ControlRecordType::Abort => false,
            _ => return Ok(None),
        };
        let value = record.value().ok_or(DecodeError::UnexpectedNull {
            what: "transaction marker value",
        })?;
        Ok(Some(Self {
            commit,
            coordinator_epoch: Self::parse_value(value)?,
        }))
    }

    /// Parses a marker's value (`version: i16, coordinatorEpoch: i32`) to its coordinator
    /// epoch. Fields a later version appends are ignored.
    pub fn parse_value(value: &[u8]) -> Result<i32, DecodeError> {
        let truncated = DecodeError::Truncated {
            what: "transaction marker",
        };
        let (version, rest) = value.split_first_chunk::<2>().ok_or(truncated)?;
        if i16::from_be_bytes(*version) < 0 {
            return Err(DecodeError::InvalidRecord {
                what: "negative transaction marker version",
            });
        }
        let (epoch, _) = rest.split_first_chunk::<4>().ok_or(truncated)?;
        Ok(i32::from_be_bytes(*epoch))
    }

    /// The control record key of this marker.
    pub fn key(&self) -> ControlRecordKey {
        ControlRecordKey {
            version: 0,
            record_type: if self.commit {
                ControlRecordType::Commit
            } else {
                ControlRecordType::Abort
            },
        }
    }

    /// The encoded marker value (version 0).
    pub fn value(&self) -> [u8; 6] {
        let mut out = [0; 6];
        out[2..].copy_from_slice(&self.coordinator_epoch.to_be_bytes());
        out
    }

    /// A control batch holding this marker for the given producer, as a partition leader
    /// writes it: transactional, no sequence, uncompressed, at offset 0 (the broker assigns
    /// the real offset with [`set_base_offset`](super::set_base_offset)).
    pub fn to_batch(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        timestamp: i64,
    ) -> Result<Bytes, EncodeError> {
        let mut builder = RecordBatchBuilder::new(BatchOptions {
            producer_id,
            producer_epoch,
            transactional: true,
            control: true,
            initial_capacity: 96,
            ..BatchOptions::default()
        });
        builder.append(
            timestamp,
            Some(&self.key().to_bytes()),
            Some(&self.value()),
            &[],
        )?;
        builder.finish(&Codecs::default())
    }
}
