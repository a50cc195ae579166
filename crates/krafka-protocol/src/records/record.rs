//! One decoded record, its lazily iterated headers, and the parser of the v2 record format.
//!
//! Decoding allocates nothing per record: keys, values and the headers section are `Bytes`
//! slices of the batch (or of its decompressed records section). Headers are walked once when
//! the record is parsed, so that a malformed header fails the record rather than surprising
//! the caller later, and then again, lazily, only if the caller iterates them.

use std::ops::Range;

use bytes::Bytes;

use super::common::TimestampType;
use crate::codec::SliceReader as Cursor;
use crate::{DecodeError, EncodeError};

/// A record read from a record batch (v2) or a legacy message (v0/v1).
///
/// The record holds one reference-counted slice of its batch (its own encoded span) and finds
/// its key, value and headers inside it. Handing a record to the application therefore costs
/// one reference-count update, not one per part; [`Record::key`] and [`Record::value`] borrow,
/// and [`Record::key_bytes`] / [`Record::value_bytes`] slice without copying.
#[derive(Clone)]
pub struct Record {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp in milliseconds since the epoch; -1 for magic-0 messages.
    pub timestamp: i64,
    /// What the timestamp means. For [`TimestampType::LogAppendTime`] batches the timestamp is
    /// the broker's append time, as Kafka's consumer reports it.
    pub timestamp_type: TimestampType,
    data: Bytes,
    key: Option<Span>,
    value: Option<Span>,
    headers: Span,
    header_count: u32,
}

/// A part of a record's `data`. `u32` positions: a record batch is at most 2 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(range: &Range<usize>, base: usize) -> Option<Self> {
        let start = u32::try_from(range.start.checked_sub(base)?).ok()?;
        let end = u32::try_from(range.end.checked_sub(base)?).ok()?;
        Some(Self { start, end })
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl Record {
    /// A record from separate parts, for records not read from a batch (tests, tools). A part
    /// alone is shared; a key and a value are copied into one buffer. Parts of 4 GiB or more
    /// (which no record batch can hold) are an error.
    pub fn from_parts(
        offset: i64,
        timestamp: i64,
        timestamp_type: TimestampType,
        key: Option<Bytes>,
        value: Option<Bytes>,
    ) -> Result<Self, EncodeError> {
        let (data, key, value) = share_one_buffer(key, value)?;
        Ok(Self {
            offset,
            timestamp,
            timestamp_type,
            data,
            key,
            value,
            headers: Span::default(),
            header_count: 0,
        })
    }

    fn empty(offset: i64, timestamp: i64, timestamp_type: TimestampType) -> Self {
        Self {
            offset,
            timestamp,
            timestamp_type,
            data: Bytes::new(),
            key: None,
            value: None,
            headers: Span::default(),
            header_count: 0,
        }
    }

    /// The key, or `None` for a null key.
    #[inline]
    pub fn key(&self) -> Option<&[u8]> {
        self.key.and_then(|s| self.data.get(s.range()))
    }

    /// The value, or `None` for a null value (a tombstone).
    #[inline]
    pub fn value(&self) -> Option<&[u8]> {
        self.value.and_then(|s| self.data.get(s.range()))
    }

    /// The key as its own `Bytes`, sharing the batch's memory (no copy).
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.key.map(|s| self.data.slice(s.range()))
    }

    /// The value as its own `Bytes`, sharing the batch's memory (no copy).
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|s| self.data.slice(s.range()))
    }

    /// The headers, borrowed from the record.
    pub fn headers(&self) -> HeadersView<'_> {
        HeadersView {
            raw: self.data.get(self.headers.range()).unwrap_or_default(),
            count: self.header_count,
        }
    }

    /// The headers as an owned value that shares the batch's memory.
    pub fn headers_owned(&self) -> Headers {
        if self.header_count == 0 {
            Headers::empty()
        } else {
            Headers {
                raw: self.data.slice(self.headers.range()),
                count: self.header_count,
            }
        }
    }
}

/// Puts `key` and `value` into one buffer: a part alone is shared as it is; two parts are
/// copied into one (only records built by hand come here; decoded ones share their batch).
fn share_one_buffer(
    key: Option<Bytes>,
    value: Option<Bytes>,
) -> Result<(Bytes, Option<Span>, Option<Span>), EncodeError> {
    let span = |start: usize, len: usize| {
        let too_long = EncodeError::TooLong {
            what: "record",
            length: start.saturating_add(len),
        };
        let end = start.checked_add(len).ok_or(too_long)?;
        Ok::<_, EncodeError>(Span {
            start: u32::try_from(start).map_err(|_| too_long)?,
            end: u32::try_from(end).map_err(|_| too_long)?,
        })
    };
    Ok(match (key, value) {
        (None, None) => (Bytes::new(), None, None),
        (Some(k), None) => {
            let s = span(0, k.len())?;
            (k, Some(s), None)
        }
        (None, Some(v)) => {
            let s = span(0, v.len())?;
            (v, None, Some(s))
        }
        (Some(k), Some(v)) => {
            let key_span = span(0, k.len())?;
            let value_span = span(k.len(), v.len())?;
            let mut both = Vec::with_capacity(k.len() + v.len());
            both.extend_from_slice(&k);
            both.extend_from_slice(&v);
            (Bytes::from(both), Some(key_span), Some(value_span))
        }
    })
}

impl Record {
    /// A record whose key and value are slices of `data` (a legacy message): the record shares
    /// `data`. Parts that are not inside `data` fall back to [`Record::from_parts`].
    pub(crate) fn within(
        data: &Bytes,
        offset: i64,
        timestamp: i64,
        timestamp_type: TimestampType,
        key: Option<&Bytes>,
        value: Option<&Bytes>,
    ) -> Self {
        let base = data.as_ptr() as usize;
        let limit = base + data.len();
        let locate = |part: &Bytes| {
            let start = part.as_ptr() as usize;
            let end = start + part.len();
            if start >= base && end <= limit {
                Span::of(&(start..end), base)
            } else {
                None
            }
        };
        match (key.map(locate), value.map(locate)) {
            (Some(None), _) | (_, Some(None)) => {
                // Legacy key and value lengths are i32s, so together they fit a u32 span and
                // `from_parts` cannot fail here; were it to, an empty record is the answer that
                // cannot panic.
                Self::from_parts(
                    offset,
                    timestamp,
                    timestamp_type,
                    key.cloned(),
                    value.cloned(),
                )
                .unwrap_or_else(|_| Self::empty(offset, timestamp, timestamp_type))
            }
            (key, value) => Self {
                offset,
                timestamp,
                timestamp_type,
                data: data.clone(),
                key: key.flatten(),
                value: value.flatten(),
                headers: Span::default(),
                header_count: 0,
            },
        }
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.offset == other.offset
            && self.timestamp == other.timestamp
            && self.timestamp_type == other.timestamp_type
            && self.key() == other.key()
            && self.value() == other.value()
            && self.headers() == other.headers()
    }
}

impl Eq for Record {}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("timestamp_type", &self.timestamp_type)
            .field("key", &self.key().map(Bytes::copy_from_slice))
            .field("value", &self.value().map(Bytes::copy_from_slice))
            .field("headers", &self.header_count)
            .finish()
    }
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key's bytes. Kafka defines header keys as UTF-8 strings, but its Java consumer
    /// decodes them leniently, so invalid UTF-8 is not an error here either; see
    /// [`Header::key_str`].
    pub key: Bytes,
    /// The value, or `None` for a null value.
    pub value: Option<Bytes>,
}

impl Header {
    /// The key as a string, or `None` when it is not valid UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

/// A record's headers: the raw, already validated headers section and its count, iterated
/// lazily so that reading a record never allocates for its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    raw: Bytes,
    count: u32,
}

impl Headers {
    /// No headers.
    pub const fn empty() -> Self {
        Self {
            raw: Bytes::new(),
            count: 0,
        }
    }

    /// The number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The headers, in order (keys may repeat).
    pub fn iter(&self) -> HeadersIter {
        HeadersIter {
            raw: self.raw.clone(),
            pos: 0,
            remaining: self.count,
        }
    }

    /// The value of the last header with this key (Kafka's `Headers.lastHeader`): `None` when
    /// no header has the key, `Some(None)` when its value is null.
    pub fn last(&self, key: &str) -> Option<Option<Bytes>> {
        self.iter()
            .filter(|h| h.key == key.as_bytes())
            .last()
            .map(|h| h.value)
    }

    /// The encoded headers section, as it appears in the record (without the count).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
}

impl IntoIterator for &Headers {
    type Item = Header;
    type IntoIter = HeadersIter;

    fn into_iter(self) -> HeadersIter {
        self.iter()
    }
}

/// The iterator of [`Headers::iter`].
#[derive(Debug, Clone)]
pub struct HeadersIter {
    raw: Bytes,
    pos: usize,
    remaining: u32,
}

impl Iterator for HeadersIter {
    type Item = Header;

    fn next(&mut self) -> Option<Header> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // The section was validated when the record was parsed, so this cannot fail; if it
        // somehow did, ending the iteration is the only answer that cannot panic.
        let mut cursor = Cursor::new(&self.raw, self.pos);
        let key = cursor.span("header key").ok()??;
        let value = cursor.span("header value").ok()?;
        self.pos = cursor.pos;
        Some(Header {
            key: self.raw.slice(key),
            value: value.map(|v| self.raw.slice(v)),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

/// What a record needs from its batch to become absolute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordContext {
    pub(crate) base_offset: i64,
    pub(crate) base_timestamp: i64,
    pub(crate) timestamp_type: TimestampType,
    /// The batch's max timestamp, which is every record's timestamp under log append time.
    pub(crate) max_timestamp: i64,
}

/// Where one parsed v2 record's parts lie in its buffer. Owned [`Record`]s and borrowed
/// [`RecordView`]s are both made from this, so the format is parsed in one place.
#[derive(Debug, Clone)]
pub(crate) struct RecordSpans {
    /// The whole record, from its attributes byte to its last header.
    span: Range<usize>,
    offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    headers: Range<usize>,
    header_count: u32,
}

impl RecordSpans {
    /// The record, sharing `data` through one reference-counted slice of its own span.
    #[inline]
    pub(crate) fn to_record(&self, data: &Bytes) -> Record {
        let base = self.span.start;
        let part = |r: &Range<usize>| Span::of(r, base);
        Record {
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            data: data.slice(self.span.clone()),
            key: self.key.as_ref().and_then(part),
            value: self.value.as_ref().and_then(part),
            headers: part(&self.headers).unwrap_or_default(),
            header_count: self.header_count,
        }
    }

    /// The record with its parts borrowed from `data`.
    #[inline]
    pub(crate) fn to_view<'a>(&self, data: &'a [u8]) -> RecordView<'a> {
        let part = |r: &Range<usize>| data.get(r.clone()).unwrap_or_default();
        RecordView {
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key.as_ref().map(part),
            value: self.value.as_ref().map(part),
            headers: HeadersView {
                raw: part(&self.headers),
                count: self.header_count,
            },
        }
    }
}

/// Parses one v2 record at `cursor`.
///
/// The record's declared length must match its fields exactly (Kafka rejects a record whose
/// fields end early or run past its length).
#[inline]
pub(crate) fn parse_record(
    cursor: &mut Cursor<'_>,
    ctx: &RecordContext,
) -> Result<RecordSpans, DecodeError> {
    let length = cursor.varint()?;
    let length = usize::try_from(length)
        .ok()
        .filter(|n| *n <= cursor.remaining())
        .ok_or(DecodeError::InvalidLength {
            what: "record",
            length: i64::from(length),
        })?;
    let start = cursor.pos;
    let end = cursor.pos + length;
    cursor.skip(1, "record attributes")?;
    let timestamp_delta = cursor.varlong()?;
    let offset_delta = cursor.varint()?;
    let key = cursor.span("record key")?;
    let value = cursor.span("record value")?;
    let header_count = cursor.varint()?;
    if cursor.pos > end {
        return Err(DecodeError::InvalidRecord {
            what: "record fields run past its length",
        });
    }
    let (headers, header_count) = parse_headers(cursor, header_count, end)?;
    let timestamp = match ctx.timestamp_type {
        TimestampType::LogAppendTime => ctx.max_timestamp,
        _ => ctx.base_timestamp.wrapping_add(timestamp_delta),
    };
    Ok(RecordSpans {
        span: start..end,
        offset: ctx.base_offset.wrapping_add(i64::from(offset_delta)),
        timestamp,
        timestamp_type: ctx.timestamp_type,
        key,
        value,
        headers,
        header_count,
    })
}

/// Validates the headers section, which must end exactly at `end`, and returns where it lies
/// and how many headers it holds.
#[inline]
fn parse_headers(
    cursor: &mut Cursor<'_>,
    count: i32,
    end: usize,
) -> Result<(Range<usize>, u32), DecodeError> {
    let section_len = end - cursor.pos;
    // Every header takes at least two bytes (two length varints), which bounds the count by
    // the bytes present before any work is done for it.
    let count = u32::try_from(count)
        .ok()
        .filter(|n| *n as usize <= section_len / 2)
        .ok_or(DecodeError::InvalidLength {
            what: "record headers",
            length: i64::from(count),
        })?;
    if count == 0 {
        if section_len != 0 {
            return Err(DecodeError::TrailingBytes {
                what: "record",
                count: section_len,
            });
        }
        return Ok((end..end, 0));
    }
    let start = cursor.pos;
    let mut section = cursor.section(start, end);
    for _ in 0..count {
        if section.skip_bytes("header key")?.is_none() {
            return Err(DecodeError::UnexpectedNull { what: "header key" });
        }
        section.skip_bytes("header value")?;
    }
    if section.pos != end {
        return Err(DecodeError::TrailingBytes {
            what: "record",
            count: end - section.pos,
        });
    }
    cursor.pos = end;
    Ok((start..end, count))
}

/// A record borrowed from its batch's buffer, for code that processes records in place.
///
/// Making an owned [`Record`] costs two reference-count updates per key and value (and two
/// more when it is dropped); a view costs none. Use [`V2Records::next_view`](super::V2Records::next_view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp in milliseconds since the epoch.
    pub timestamp: i64,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The key, or `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// The value, or `None` for a null value (a tombstone).
    pub value: Option<&'a [u8]>,
    /// The headers.
    pub headers: HeadersView<'a>,
}

/// A record's headers, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeadersView<'a> {
    raw: &'a [u8],
    count: u32,
}

impl<'a> HeadersView<'a> {
    /// The number of headers.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The value of the last header with this key (Kafka's `Headers.lastHeader`): `None` when
    /// no header has the key, `Some(None)` when its value is null.
    pub fn last(&self, key: &str) -> Option<Option<&'a [u8]>> {
        self.iter()
            .filter(|(k, _)| *k == key.as_bytes())
            .last()
            .map(|(_, v)| v)
    }

    /// The headers in order, as `(key, value)` pairs borrowed from the record.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + use<'a> {
        let raw = self.raw;
        let mut pos = 0;
        // The section was validated when the record was parsed; a failure here ends the
        // iteration rather than panicking.
        (0..self.count).map_while(move |_| {
            let mut cursor = Cursor::new(raw, pos);
            let key = cursor.span("header key").ok()??;
            let value = cursor.span("header value").ok()?;
            pos = cursor.pos;
            Some((raw.get(key)?, value.and_then(|v| raw.get(v))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{put_varint, put_varlong};
    use bytes::{BufMut, BytesMut};

    const CTX: RecordContext = RecordContext {
        base_offset: 100,
        base_timestamp: 1_000,
        timestamp_type: TimestampType::CreateTime,
        max_timestamp: 2_000,
    };

    fn record_bytes(body: &[u8]) -> Bytes {
        let mut buf = BytesMut::new();
        put_varint(&mut buf, body.len() as i32);
        buf.put_slice(body);
        buf.freeze()
    }

    fn body(key: Option<&[u8]>, headers: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        buf.put_u8(0);
        put_varlong(&mut buf, 5);
        put_varint(&mut buf, 2);
        for field in [key, Some(b"value".as_slice())] {
            match field {
                Some(b) => {
                    put_varint(&mut buf, b.len() as i32);
                    buf.put_slice(b);
                }
                None => put_varint(&mut buf, -1),
            }
        }
        put_varint(&mut buf, headers.len() as i32);
        for (k, v) in headers {
            put_varint(&mut buf, k.len() as i32);
            buf.put_slice(k);
            match v {
                Some(v) => {
                    put_varint(&mut buf, v.len() as i32);
                    buf.put_slice(v);
                }
                None => put_varint(&mut buf, -1),
            }
        }
        buf.to_vec()
    }

    fn parse(data: &Bytes) -> Result<Record, DecodeError> {
        parse_record(&mut Cursor::new(data, 0), &CTX).map(|s| s.to_record(data))
    }

    #[test]
    fn parses_fields_and_headers() {
        let data = record_bytes(&body(
            Some(b"k"),
            &[(b"a", Some(b"1")), (b"b", None), (b"a", Some(b"3"))],
        ));
        let record = parse(&data).unwrap();
        assert_eq!(record.offset, 102);
        assert_eq!(record.timestamp, 1_005);
        assert_eq!(record.key(), Some(&b"k"[..]));
        assert_eq!(record.value(), Some(&b"value"[..]));
        let headers: Vec<_> = record.headers_owned().iter().collect();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[1].key_str(), Some("b"));
        assert_eq!(headers[1].value, None);
        assert_eq!(
            record.headers_owned().last("a"),
            Some(Some(Bytes::from_static(b"3")))
        );
        assert_eq!(record.headers_owned().last("b"), Some(None));
        assert_eq!(record.headers_owned().last("c"), None);
        // Slices, not copies.
        let value = record.value_bytes().unwrap();
        assert!(data.as_ptr_range().contains(&value.as_ptr()));
    }

    #[test]
    fn log_append_time_uses_the_batch_max_timestamp() {
        let data = record_bytes(&body(None, &[]));
        let ctx = RecordContext {
            timestamp_type: TimestampType::LogAppendTime,
            ..CTX
        };
        let record = parse_record(&mut Cursor::new(&data, 0), &ctx)
            .unwrap()
            .to_record(&data);
        assert_eq!(record.timestamp, 2_000);
        assert_eq!(record.key(), None);
    }

    #[test]
    fn length_must_match_the_fields() {
        let mut long = body(None, &[(b"a", None)]);
        long.push(0);
        assert!(matches!(
            parse(&record_bytes(&long)),
            Err(DecodeError::TrailingBytes { .. })
        ));
        let short = body(None, &[(b"a", None)]);
        let data = record_bytes(&short[..short.len() - 1]);
        assert!(parse(&data).is_err());
        let data = record_bytes(&body(None, &[]));
        for cut in 0..data.len() {
            assert!(parse(&data.slice(..cut)).is_err(), "{cut}");
        }
    }

    #[test]
    fn hostile_lengths_and_counts() {
        // Negative record length, huge key length, huge header count, null header key.
        assert!(parse(&Bytes::from_static(&[0x01])).is_err());
        let b = [0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f];
        assert!(parse(&record_bytes(&b)).is_err());
        let mut huge_count = body(None, &[]);
        huge_count.pop();
        huge_count.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x07]);
        assert!(matches!(
            parse(&record_bytes(&huge_count)),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut null_key = body(None, &[]);
        null_key.pop();
        null_key.extend_from_slice(&[0x02, 0x01, 0x01]);
        assert_eq!(
            parse(&record_bytes(&null_key)),
            Err(DecodeError::UnexpectedNull { what: "header key" })
        );
        // A varint that never ends.
        assert_eq!(
            parse(&Bytes::from_static(&[0x80; 12])),
            Err(DecodeError::VarintTooLong)
        );
        let mut endless_ts = vec![0x28, 0x00];
        endless_ts.extend_from_slice(&[0xff; 19]);
        assert_eq!(
            parse(&Bytes::from(endless_ts)),
            Err(DecodeError::VarintTooLong)
        );
    }

    #[test]
    fn cursor_varints_agree_with_the_codec() {
        use crate::codec::{get_varint, get_varlong};
        for v in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            300,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ] {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, v);
            let bytes = buf.freeze();
            assert_eq!(
                Cursor::new(&bytes, 0).varlong(),
                get_varlong(&mut bytes.clone())
            );
            if let Ok(v) = i32::try_from(v) {
                let mut buf = BytesMut::new();
                put_varint(&mut buf, v);
                let bytes = buf.freeze();
                assert_eq!(
                    Cursor::new(&bytes, 0).varint(),
                    get_varint(&mut bytes.clone())
                );
            }
        }
        for raw in [
            &[0xff, 0xff, 0xff, 0xff, 0x1f][..],
            &[0xff; 10],
            &[0x80; 11],
        ] {
            let bytes = Bytes::copy_from_slice(raw);
            assert_eq!(
                Cursor::new(&bytes, 0).varint().is_ok(),
                get_varint(&mut bytes.clone()).is_ok()
            );
            assert_eq!(
                Cursor::new(&bytes, 0).varlong().is_ok(),
                get_varlong(&mut bytes.clone()).is_ok()
            );
        }
    }
}
