//! Legacy message sets: message formats v0 (magic 0) and v1 (magic 1, Kafka 0.10).
//!
//! Brokers still return these for topics whose data predates record batches. Each entry is
//! `offset: i64, size: i32` followed by a message: `crc: u32` (CRC32, IEEE polynomial, over
//! the rest of the message), `magic: i8`, `attributes: i8` (bits 0–2 compression, bit 3 log
//! append time on v1), `timestamp: i64` (v1 only), then `i32`-length-prefixed key and value.
//!
//! A compressed entry is a wrapper whose value is a whole inner message set, compressed. In
//! v1 the inner offsets are relative, and the wrapper carries the absolute offset of the last
//! inner message, so `inner offset = wrapper offset - last relative offset + relative offset`.
//! Reading them needs the last relative offset first; that is found by walking the inner
//! entries' `offset, size` prefixes once, without allocating.

use bytes::{Buf, Bytes};

use super::common::{DecodeOptions, NO_TIMESTAMP, TimestampType};
use super::record::Record;
use crate::DecodeError;
use crate::codec::{expect_empty, get_i8, get_i64, get_nullable_bytes, get_u32};
use crate::compression::{Compression, fix_legacy_header_checksum};

/// offset (8) and size (4).
const LOG_OVERHEAD: usize = 12;
/// crc, magic, attributes, key length, value length.
const MIN_MESSAGE_V0: usize = 4 + 1 + 1 + 4 + 4;
/// The same with the timestamp.
const MIN_MESSAGE_V1: usize = MIN_MESSAGE_V0 + 8;
const MAGIC_AT: usize = 16;
const COMPRESSION_MASK: i8 = 0x07;
const TIMESTAMP_TYPE_BIT: i8 = 0x08;

/// CRC32 with the IEEE polynomial, as legacy messages use (flate2 already carries one).
fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// One legacy message set entry: a plain message, or a compressed wrapper of many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBatch {
    raw: Bytes,
    offset: i64,
    crc: u32,
    magic: i8,
    attributes: i8,
    compression: Compression,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

impl LegacyBatch {
    /// Splits one message set entry off the front of `buf` and parses it, verifying its CRC
    /// when `options.verify_crc`. `buf` is advanced only on success.
    pub fn decode(buf: &mut Bytes, options: &DecodeOptions) -> Result<Self, DecodeError> {
        parse_entry(buf, options.verify_crc)
    }

    /// Checks the stored CRC32 against the message.
    pub fn verify_crc(&self) -> Result<(), DecodeError> {
        let actual = self.compute_crc();
        if actual != self.crc {
            return Err(DecodeError::CrcMismatch {
                expected: self.crc,
                actual,
            });
        }
        Ok(())
    }

    /// The CRC32 of the message (magic to the end).
    pub fn compute_crc(&self) -> u32 {
        crc32_ieee(self.raw.get(MAGIC_AT..).unwrap_or_default())
    }

    /// The whole entry, from its offset on.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The encoded size in bytes.
    pub fn size_in_bytes(&self) -> usize {
        self.raw.len()
    }

    /// The entry's offset: the message's own, or for a compressed wrapper the offset of its
    /// last inner message.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The offset of the last record in the entry (the entry's offset, see
    /// [`LegacyBatch::offset`]).
    pub fn last_offset(&self) -> i64 {
        self.offset
    }

    /// The offset after this entry.
    pub fn next_offset(&self) -> i64 {
        self.offset.wrapping_add(1)
    }

    /// 0 or 1.
    pub fn magic(&self) -> i8 {
        self.magic
    }

    /// The stored CRC32.
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// The raw attributes.
    pub fn attributes(&self) -> i8 {
        self.attributes
    }

    /// The codec of the value, for a compressed wrapper.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// What the timestamp means (none in v0).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic == 0 {
            TimestampType::NoTimestamp
        } else if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// The timestamp (v1), or -1.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The key.
    pub fn key(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }

    /// The value (a compressed inner message set, for a wrapper).
    pub fn value(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }

    fn to_record(&self, offset: i64, wrapper: Option<&LegacyBatch>) -> Record {
        let (timestamp, timestamp_type) = match (self.timestamp_type(), wrapper) {
            (TimestampType::NoTimestamp, _) => (NO_TIMESTAMP, TimestampType::NoTimestamp),
            // Inner messages of a log-append-time wrapper take the wrapper's timestamp.
            (_, Some(w)) if w.timestamp_type() == TimestampType::LogAppendTime => {
                (w.timestamp, TimestampType::LogAppendTime)
            }
            (ty, _) => (self.timestamp, ty),
        };
        Record::within(
            &self.raw,
            offset,
            timestamp,
            timestamp_type,
            self.key.as_ref(),
            self.value.as_ref(),
        )
    }

    /// The records: the message itself, or a compressed wrapper's inner messages (the inner
    /// set is decompressed once, bounded by `options.max_decompressed_size`).
    pub fn records(&self, options: &DecodeOptions) -> Result<LegacyRecords, DecodeError> {
        if self.compression == Compression::None {
            return Ok(LegacyRecords {
                state: State::Single(Some(self.to_record(self.offset, None))),
            });
        }
        let value = self.value.as_ref().ok_or(DecodeError::InvalidRecord {
            what: "compressed legacy message with a null value",
        })?;
        let fixed;
        let compressed = if self.compression == Compression::Lz4 && self.magic == 0 {
            fixed = Bytes::from(
                fix_legacy_header_checksum(value)
                    .ok_or(DecodeError::Decompression { codec: "lz4" })?,
            );
            &fixed
        } else {
            value
        };
        let inner = options.codecs.decompress(
            self.compression,
            compressed,
            options.max_decompressed_size,
        )?;
        let last_relative = last_entry_offset(&inner)?;
        // v1 inner offsets are relative to the wrapper's; v0 inner offsets are absolute.
        let base = (self.magic > 0).then(|| self.offset.wrapping_sub(last_relative));
        Ok(LegacyRecords {
            state: State::Deep {
                inner,
                base,
                wrapper: Box::new(self.clone()),
                verify_crc: options.verify_crc,
            },
        })
    }
}

/// Parses the entry at the front of `buf`, advancing past it only on success.
fn parse_entry(buf: &mut Bytes, verify_crc: bool) -> Result<LegacyBatch, DecodeError> {
    if buf.len() < LOG_OVERHEAD {
        return Err(DecodeError::Truncated {
            what: "legacy message",
        });
    }
    let mut cursor = buf.clone();
    let offset = cursor.get_i64();
    let size = cursor.get_i32();
    let size = usize::try_from(size)
        .ok()
        .filter(|n| *n >= MIN_MESSAGE_V0)
        .ok_or(DecodeError::InvalidLength {
            what: "legacy message",
            length: i64::from(size),
        })?;
    if size > cursor.len() {
        return Err(DecodeError::Truncated {
            what: "legacy message",
        });
    }
    let raw = buf.slice(..LOG_OVERHEAD + size);
    let mut message = cursor.split_to(size);
    let crc = get_u32(&mut message)?;
    let magic = get_i8(&mut message)?;
    if !(0..=1).contains(&magic) {
        return Err(DecodeError::UnsupportedMagic(magic));
    }
    if magic == 1 && size < MIN_MESSAGE_V1 {
        return Err(DecodeError::InvalidLength {
            what: "legacy message",
            length: size as i64,
        });
    }
    let attributes = get_i8(&mut message)?;
    let id = (attributes & COMPRESSION_MASK) as u8;
    let compression = match Compression::from_id(id) {
        Some(Compression::Zstd) => {
            return Err(DecodeError::InvalidRecord {
                what: "zstd in a legacy message",
            });
        }
        Some(c) => c,
        None => return Err(DecodeError::UnknownCompression(id)),
    };
    let timestamp = if magic == 1 {
        get_i64(&mut message)?
    } else {
        NO_TIMESTAMP
    };
    let key = get_nullable_bytes(&mut message, false)?;
    let value = get_nullable_bytes(&mut message, false)?;
    expect_empty(&message, "legacy message")?;
    let entry = LegacyBatch {
        raw,
        offset,
        crc,
        magic,
        attributes,
        compression,
        timestamp,
        key,
        value,
    };
    if verify_crc {
        entry.verify_crc()?;
    }
    *buf = cursor;
    Ok(entry)
}

/// The offset of the last entry of an inner message set, checking that the set is a whole
/// number of well-formed entries and not empty.
fn last_entry_offset(set: &Bytes) -> Result<i64, DecodeError> {
    let mut rest = &set[..];
    let mut last = None;
    while !rest.is_empty() {
        let (head, tail) =
            rest.split_first_chunk::<LOG_OVERHEAD>()
                .ok_or(DecodeError::Truncated {
                    what: "inner legacy message",
                })?;
        let mut head = &head[..];
        let offset = head.get_i64();
        let size = head.get_i32();
        let size = usize::try_from(size)
            .ok()
            .filter(|n| *n >= MIN_MESSAGE_V0 && *n <= tail.len())
            .ok_or(DecodeError::InvalidLength {
                what: "inner legacy message",
                length: i64::from(size),
            })?;
        rest = &tail[size..];
        last = Some(offset);
    }
    last.ok_or(DecodeError::InvalidRecord {
        what: "compressed legacy message with no inner messages",
    })
}

/// The records of one [`LegacyBatch`].
#[derive(Debug, Clone)]
pub struct LegacyRecords {
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Single(Option<Record>),
    Deep {
        inner: Bytes,
        base: Option<i64>,
        wrapper: Box<LegacyBatch>,
        verify_crc: bool,
    },
    Failed,
}

impl Iterator for LegacyRecords {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.state {
            State::Single(record) => record.take().map(Ok),
            State::Failed => None,
            State::Deep {
                inner,
                base,
                wrapper,
                verify_crc,
            } => {
                if inner.is_empty() {
                    return None;
                }
                let result = parse_entry(inner, *verify_crc).and_then(|entry| {
                    if entry.compression != Compression::None {
                        return Err(DecodeError::InvalidRecord {
                            what: "nested compression in a legacy message",
                        });
                    }
                    let offset = base.map_or(entry.offset, |b| b.wrapping_add(entry.offset));
                    Ok(entry.to_record(offset, Some(wrapper)))
                });
                if result.is_err() {
                    self.state = State::Failed;
                }
                Some(result)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Codecs;
    use crate::records::{BatchOptions, RecordBatchBuilder, RecordSet};
    use bytes::BytesMut;

    fn message(
        magic: i8,
        attributes: i8,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut body = vec![magic as u8, attributes as u8];
        if magic == 1 {
            body.extend_from_slice(&timestamp.to_be_bytes());
        }
        for field in [key, value] {
            match field {
                Some(b) => {
                    body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    body.extend_from_slice(b);
                }
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        let mut out = crc32_ieee(&body).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    fn entry(offset: i64, message: &[u8]) -> Vec<u8> {
        let mut out = offset.to_be_bytes().to_vec();
        out.extend_from_slice(&(message.len() as i32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    /// An inner message set of `values`, with the given (relative or absolute) first offset.
    fn inner_set(magic: i8, first_offset: i64, values: &[&[u8]]) -> Vec<u8> {
        values
            .iter()
            .enumerate()
            .flat_map(|(i, v)| {
                let ts = 1_000 + i as i64;
                entry(
                    first_offset + i as i64,
                    &message(magic, 0, ts, Some(b"k"), Some(v)),
                )
            })
            .collect()
    }

    fn compress(compression: Compression, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Codecs::default()
            .compress(compression, data, None, &mut out)
            .unwrap();
        out.to_vec()
    }

    fn read(set: Vec<u8>, options: &DecodeOptions) -> Result<Vec<Record>, DecodeError> {
        RecordSet::with_options(Bytes::from(set), options.clone())
            .records()
            .collect()
    }

    fn values(records: &[Record]) -> Vec<&[u8]> {
        records
            .iter()
            .map(|r| r.value().unwrap_or(&b"<null>"[..]))
            .collect()
    }

    #[test]
    fn magic_0_plain_messages() {
        let set = [
            entry(10, &message(0, 0, 0, None, Some(b"a"))),
            entry(11, &message(0, 0, 0, Some(b"k"), None)),
            entry(12, &message(0, 0, 0, Some(b""), Some(b""))),
        ]
        .concat();
        let records = read(set, &DecodeOptions::default()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [10, 11, 12]
        );
        assert_eq!(values(&records), [&b"a"[..], b"<null>", b""]);
        assert_eq!(records[1].key(), Some(&b"k"[..]));
        assert_eq!(records[0].key(), None);
        for r in &records {
            assert_eq!(r.timestamp, NO_TIMESTAMP);
            assert_eq!(r.timestamp_type, TimestampType::NoTimestamp);
            assert!(r.headers().is_empty());
        }
    }

    #[test]
    fn magic_1_plain_messages() {
        let set = [
            entry(0, &message(1, 0, 5_000, None, Some(b"create"))),
            entry(
                1,
                &message(1, TIMESTAMP_TYPE_BIT, 6_000, None, Some(b"append")),
            ),
        ]
        .concat();
        let mut batches = RecordSet::new(Bytes::from(set.clone()));
        let first = batches.next().unwrap().unwrap();
        assert_eq!(first.magic(), 1);
        assert_eq!(first.next_offset(), 1);
        assert!(!first.is_control());
        assert_eq!(first.producer_id(), -1);
        let records = read(set, &DecodeOptions::default()).unwrap();
        assert_eq!(
            (records[0].timestamp, records[0].timestamp_type),
            (5_000, TimestampType::CreateTime)
        );
        assert_eq!(
            (records[1].timestamp, records[1].timestamp_type),
            (6_000, TimestampType::LogAppendTime)
        );
    }

    #[test]
    fn magic_1_compressed_wrappers_use_relative_offsets() {
        let values_in: [&[u8]; 3] = [b"one", b"two", b"three"];
        for compression in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            let inner = compress(compression, &inner_set(1, 0, &values_in));
            for (attributes, expect_ts) in
                [(0, [1_000, 1_001, 1_002]), (TIMESTAMP_TYPE_BIT, [9_999; 3])]
            {
                let wrapper = message(
                    1,
                    attributes | compression.id() as i8,
                    9_999,
                    None,
                    Some(&inner),
                );
                // The wrapper carries the absolute offset of the last inner message.
                let set = [
                    entry(102, &wrapper),
                    entry(103, &message(1, 0, 7, None, Some(b"four"))),
                ]
                .concat();
                let records = read(set.clone(), &DecodeOptions::default()).unwrap();
                assert_eq!(values(&records), [&b"one"[..], b"two", b"three", b"four"]);
                assert_eq!(
                    records.iter().map(|r| r.offset).collect::<Vec<_>>(),
                    [100, 101, 102, 103]
                );
                assert_eq!(
                    records[..3].iter().map(|r| r.timestamp).collect::<Vec<_>>(),
                    expect_ts
                );
                let batch = RecordSet::new(Bytes::from(set)).next().unwrap().unwrap();
                assert_eq!(batch.last_offset(), 102);
                assert_eq!(batch.compression(), compression);
            }
        }
    }

    #[test]
    fn magic_0_compressed_wrappers_use_absolute_offsets() {
        for compression in [Compression::Gzip, Compression::Snappy] {
            let inner = compress(compression, &inner_set(0, 50, &[b"x", b"y"]));
            let set = entry(
                51,
                &message(0, compression.id() as i8, 0, None, Some(&inner)),
            );
            let records = read(set, &DecodeOptions::default()).unwrap();
            assert_eq!(
                records.iter().map(|r| r.offset).collect::<Vec<_>>(),
                [50, 51]
            );
            assert_eq!(values(&records), [&b"x"[..], b"y"]);
        }
    }

    #[test]
    fn magic_0_lz4_with_the_old_header_checksum() {
        let mut inner = compress(Compression::Lz4, &inner_set(0, 0, &[b"old", b"lz4"]));
        // Kafka before 0.10 hashed the magic number into the header checksum; any wrong
        // byte there stands in for it.
        inner[6] ^= 0x5a;
        let set = entry(
            1,
            &message(0, Compression::Lz4.id() as i8, 0, None, Some(&inner)),
        );
        let records = read(set, &DecodeOptions::default()).unwrap();
        assert_eq!(values(&records), [&b"old"[..], b"lz4"]);
        // Magic 1 frames must be correct.
        let set = entry(
            1,
            &message(1, Compression::Lz4.id() as i8, 0, None, Some(&inner)),
        );
        assert!(read(set, &DecodeOptions::default()).is_err());
    }

    #[test]
    fn mixed_formats_in_one_records_field() {
        let mut builder = RecordBatchBuilder::new(BatchOptions {
            base_offset: 2,
            ..BatchOptions::default()
        });
        builder.append(3, None, Some(b"v2"), &[]).unwrap();
        let v2 = builder.finish(&Codecs::default()).unwrap();
        let set = [
            entry(0, &message(0, 0, 0, None, Some(b"v0"))),
            entry(1, &message(1, 0, 0, None, Some(b"v1"))),
            v2.to_vec(),
        ]
        .concat();
        let records = read(set, &DecodeOptions::default()).unwrap();
        assert_eq!(values(&records), [&b"v0"[..], b"v1", b"v2"]);
        assert_eq!(
            records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [0, 1, 2]
        );
    }

    #[test]
    fn crc_is_checked_per_message() {
        let mut set = entry(0, &message(1, 0, 0, None, Some(b"value")));
        let last = set.len() - 1;
        set[last] ^= 0x20;
        assert!(matches!(
            read(set.clone(), &DecodeOptions::default()),
            Err(DecodeError::CrcMismatch { .. })
        ));
        let lenient = DecodeOptions {
            verify_crc: false,
            ..DecodeOptions::default()
        };
        assert_eq!(read(set, &lenient).unwrap()[0].value(), Some(&b"valuE"[..]));
        // Inner messages are checked too.
        let mut inner = inner_set(1, 0, &[b"a"]);
        let last = inner.len() - 1;
        inner[last] ^= 0x01;
        let packed = compress(Compression::Gzip, &inner);
        let set = entry(0, &message(1, 1, 0, None, Some(&packed)));
        assert!(read(set.clone(), &DecodeOptions::default()).is_err());
        assert!(read(set, &lenient).is_ok());
    }

    #[test]
    fn malformed_wrappers() {
        let gzip = Compression::Gzip.id() as i8;
        let options = DecodeOptions::default();
        // Null value, empty inner set, nested compression, zstd, codec 5, junk inner data.
        let nested = compress(
            Compression::Gzip,
            &entry(0, &message(1, gzip, 0, None, Some(b"x"))),
        );
        let cases: Vec<Vec<u8>> = vec![
            message(1, gzip, 0, None, None),
            message(1, gzip, 0, None, Some(&compress(Compression::Gzip, b""))),
            message(1, gzip, 0, None, Some(&nested)),
            message(1, 4, 0, None, Some(b"zstd")),
            message(1, 5, 0, None, Some(b"??")),
            message(
                1,
                gzip,
                0,
                None,
                Some(&compress(Compression::Gzip, &[1; 20])),
            ),
            message(1, gzip, 0, None, Some(b"not gzip")),
        ];
        for (i, m) in cases.into_iter().enumerate() {
            assert!(read(entry(0, &m), &options).is_err(), "case {i}");
        }
        // Magic 2 is not a legacy message, and a v1 message needs room for its timestamp.
        let mut not_legacy = entry(0, &message(1, 0, 0, None, None));
        assert!(LegacyBatch::decode(&mut Bytes::from(not_legacy.clone()), &options).is_ok());
        not_legacy[16] = 2;
        assert!(LegacyBatch::decode(&mut Bytes::from(not_legacy), &options).is_err());
        let short_v1 = entry(0, &message(0, 0, 0, None, Some(b"1234")))
            .into_iter()
            .enumerate()
            .map(|(i, b)| if i == 16 { 1 } else { b })
            .collect::<Vec<_>>();
        assert!(LegacyBatch::decode(&mut Bytes::from(short_v1), &options).is_err());
    }

    #[test]
    fn inner_sets_are_bounded() {
        let inner = inner_set(1, 0, &[&[0; 10_000], &[0; 10_000]]);
        let packed = compress(Compression::Gzip, &inner);
        let set = entry(1, &message(1, 1, 0, None, Some(&packed)));
        let tight = DecodeOptions {
            max_decompressed_size: 10_000,
            ..DecodeOptions::default()
        };
        assert_eq!(
            read(set, &tight).unwrap_err(),
            DecodeError::DecompressedTooLarge { max: 10_000 }
        );
    }

    #[test]
    fn every_truncation_and_corruption_is_handled() {
        let inner = compress(
            Compression::Snappy,
            &inner_set(1, 0, &[b"a", b"bb", b"ccc"]),
        );
        let set = [
            entry(
                2,
                &message(1, Compression::Snappy.id() as i8, 0, None, Some(&inner)),
            ),
            entry(3, &message(0, 0, 0, Some(b"key"), Some(b"value"))),
        ]
        .concat();
        let lenient = DecodeOptions {
            verify_crc: false,
            ..DecodeOptions::default()
        };
        let first_len = set.len() - entry(3, &message(0, 0, 0, Some(b"key"), Some(b"value"))).len();
        for cut in 0..set.len() {
            let records = read(set[..cut].to_vec(), &lenient).unwrap();
            assert_eq!(records.len(), if cut < first_len { 0 } else { 3 }, "{cut}");
        }
        for at in 0..set.len() {
            let mut b = set.clone();
            b[at] ^= 0x41;
            let _ = read(b.clone(), &lenient);
            let _ = read(b, &DecodeOptions::default());
        }
    }
}
