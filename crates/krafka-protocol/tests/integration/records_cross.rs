//! Record batches against the independent `kafka-protocol` crate, for every codec and in both
//! directions: batches our builder writes must decode in kafka-protocol to the same records and
//! batch fields, and batches kafka-protocol writes must decode in ours.
//!
//! kafka-protocol compresses with other libraries than ours for two codecs (the lz4 C library
//! through `lz4`, and its own xerial framing over `snap`), so these tests also check that our
//! LZ4 frames and xerial snappy streams are what other implementations expect.

// The helpers below are test code too; clippy only knows that of `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as TheirCompression, Record as TheirRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as TheirTimestampType,
};
use krafka_protocol::compression::{Codecs, Compression};
use krafka_protocol::records::{
    Batch, BatchOptions, DecodeOptions, EndTransactionMarker, Record, RecordBatchBuilder,
    RecordSet, TimestampType,
};

/// One test record. Header keys are unique within a record because kafka-protocol keeps
/// headers in a map.
struct Input {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn inputs() -> Vec<Input> {
    let mut out = vec![
        Input {
            timestamp: 1_700_000_000_000,
            key: Some(b"first".to_vec()),
            value: Some(b"hello".to_vec()),
            headers: vec![("content-type".into(), Some(b"text/plain".to_vec()))],
        },
        Input {
            timestamp: 1_700_000_000_250,
            key: None,
            value: Some(vec![]),
            headers: vec![
                ("a".into(), None),
                ("b".into(), Some(vec![])),
                ("ключ".into(), Some(b"value".to_vec())),
            ],
        },
        Input {
            timestamp: 1_699_999_000_000,
            key: Some(vec![]),
            value: None,
            headers: vec![],
        },
    ];
    // Enough data to span several compression blocks (64 KiB lz4, 32 KiB snappy).
    for i in 0..40u32 {
        let text = format!("record {i} with a moderately compressible payload; ").repeat(80);
        out.push(Input {
            timestamp: 1_700_000_001_000 + i64::from(i),
            key: Some(i.to_be_bytes().to_vec()),
            value: Some(text.into_bytes()),
            headers: vec![("i".into(), Some(i.to_string().into_bytes()))],
        });
    }
    out
}

fn their_compression(c: Compression) -> TheirCompression {
    match c {
        Compression::None => TheirCompression::None,
        Compression::Gzip => TheirCompression::Gzip,
        Compression::Snappy => TheirCompression::Snappy,
        Compression::Lz4 => TheirCompression::Lz4,
        Compression::Zstd => TheirCompression::Zstd,
    }
}

const PRODUCER_ID: i64 = 77_000;
const PRODUCER_EPOCH: i16 = 5;
const BASE_SEQUENCE: i32 = 1_000;

fn ours(compression: Compression, transactional: bool) -> Bytes {
    ours_of(inputs(), compression, transactional)
}

fn ours_of(inputs: Vec<Input>, compression: Compression, transactional: bool) -> Bytes {
    let mut builder = RecordBatchBuilder::new(BatchOptions {
        compression,
        producer_id: PRODUCER_ID,
        producer_epoch: PRODUCER_EPOCH,
        base_sequence: BASE_SEQUENCE,
        transactional,
        base_offset: 500,
        partition_leader_epoch: 9,
        ..BatchOptions::default()
    });
    for input in inputs {
        let headers: Vec<(&str, Option<&[u8]>)> = input
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        builder
            .append(
                input.timestamp,
                input.key.as_deref(),
                input.value.as_deref(),
                &headers,
            )
            .unwrap();
    }
    builder.finish(&Codecs::default()).unwrap()
}

fn theirs(compression: Compression, transactional: bool) -> Bytes {
    theirs_of(inputs(), compression, transactional)
}

fn theirs_of(inputs: Vec<Input>, compression: Compression, transactional: bool) -> Bytes {
    let records: Vec<TheirRecord> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let mut record = TheirRecord {
                transactional,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 9,
                producer_id: PRODUCER_ID,
                producer_epoch: PRODUCER_EPOCH,
                timestamp_type: TheirTimestampType::Creation,
                offset: 500 + i as i64,
                sequence: BASE_SEQUENCE + i as i32,
                timestamp: input.timestamp,
                key: input.key.map(Bytes::from),
                value: input.value.map(Bytes::from),
                headers: Default::default(),
            };
            for (k, v) in input.headers {
                record
                    .headers
                    .insert(StrBytes::from_string(k), v.map(Bytes::from));
            }
            record
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: their_compression(compression),
        },
    )
    .unwrap();
    buf.freeze()
}

fn check_their_records(records: &[TheirRecord], transactional: bool) {
    let inputs = inputs();
    assert_eq!(records.len(), inputs.len());
    for (i, (record, input)) in records.iter().zip(&inputs).enumerate() {
        assert_eq!(record.offset, 500 + i as i64);
        assert_eq!(record.timestamp, input.timestamp);
        assert_eq!(record.timestamp_type, TheirTimestampType::Creation);
        assert_eq!(record.key.as_deref(), input.key.as_deref());
        assert_eq!(record.value.as_deref(), input.value.as_deref());
        assert_eq!(record.producer_id, PRODUCER_ID);
        assert_eq!(record.producer_epoch, PRODUCER_EPOCH);
        assert_eq!(record.sequence, BASE_SEQUENCE + i as i32);
        assert_eq!(record.partition_leader_epoch, 9);
        assert_eq!(record.transactional, transactional);
        assert!(!record.control);
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().map(|v| v.to_vec())))
            .collect();
        assert_eq!(headers, input.headers);
    }
}

fn check_our_records(batch: &Batch, records: &[Record], transactional: bool) {
    let Batch::V2(batch) = batch else {
        panic!("expected a v2 batch");
    };
    let inputs = inputs();
    assert_eq!(batch.producer_id(), PRODUCER_ID);
    assert_eq!(batch.producer_epoch(), PRODUCER_EPOCH);
    assert_eq!(batch.base_sequence(), BASE_SEQUENCE);
    assert_eq!(batch.partition_leader_epoch(), 9);
    assert_eq!(batch.is_transactional(), transactional);
    assert_eq!(batch.base_offset(), 500);
    assert_eq!(batch.record_count() as usize, inputs.len());
    assert_eq!(batch.last_offset(), 500 + inputs.len() as i64 - 1);
    assert_eq!(
        batch.max_timestamp(),
        inputs.iter().map(|i| i.timestamp).max().unwrap()
    );
    assert_eq!(records.len(), inputs.len());
    for (i, (record, input)) in records.iter().zip(&inputs).enumerate() {
        assert_eq!(record.offset, 500 + i as i64);
        assert_eq!(record.timestamp, input.timestamp);
        assert_eq!(record.timestamp_type, TimestampType::CreateTime);
        assert_eq!(record.key(), input.key.as_deref());
        assert_eq!(record.value(), input.value.as_deref());
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers_owned()
            .iter()
            .map(|h| (h.key_str().unwrap().to_owned(), h.value.map(|v| v.to_vec())))
            .collect();
        assert_eq!(headers, input.headers);
    }
}

fn decode_ours(bytes: Bytes) -> Vec<(Batch, Vec<Record>)> {
    let options = DecodeOptions::default();
    let mut set = RecordSet::with_options(bytes, options.clone());
    let out = set
        .by_ref()
        .map(|batch| {
            let batch = batch.unwrap();
            let records = batch
                .records(&options)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (batch, records)
        })
        .collect();
    assert_eq!(set.remaining(), 0);
    out
}

#[test]
fn our_batches_decode_in_kafka_protocol() {
    for compression in Compression::ALL {
        for transactional in [false, true] {
            let mut bytes = ours(compression, transactional);
            let set = RecordBatchDecoder::decode(&mut bytes)
                .unwrap_or_else(|e| panic!("{compression}: {e:#}"));
            assert!(bytes.is_empty());
            assert_eq!(set.version, 2);
            assert_eq!(set.compression, their_compression(compression));
            check_their_records(&set.records, transactional);
        }
    }
}

#[test]
fn kafka_protocol_batches_decode_in_ours() {
    for compression in Compression::ALL {
        for transactional in [false, true] {
            let bytes = theirs(compression, transactional);
            let decoded = decode_ours(bytes);
            assert_eq!(decoded.len(), 1, "{compression}");
            assert_eq!(decoded[0].0.compression(), compression);
            check_our_records(&decoded[0].0, &decoded[0].1, transactional);
        }
    }
}

#[test]
fn uncompressed_batches_are_byte_identical() {
    // Without compression the encoding of these fields is fixed, so both encoders must agree
    // to the byte, once the base timestamp is the same: kafka-protocol takes the smallest
    // timestamp, Kafka's producer (and we) the first record's, so the timestamps here rise.
    let rising = || {
        inputs()
            .into_iter()
            .filter(|i| i.timestamp >= 1_700_000_000_000)
            .collect::<Vec<_>>()
    };
    for transactional in [false, true] {
        let ours = ours_of(rising(), Compression::None, transactional);
        let theirs = theirs_of(rising(), Compression::None, transactional);
        let first_difference = ours.iter().zip(&theirs[..]).position(|(a, b)| a != b);
        assert!(
            ours == theirs,
            "lengths {} and {}, first difference at {first_difference:?}",
            ours.len(),
            theirs.len()
        );
    }
}

#[test]
fn several_of_their_batches_in_one_records_field() {
    let mut all = BytesMut::new();
    for compression in Compression::ALL {
        all.extend_from_slice(&theirs(compression, false));
    }
    let decoded = decode_ours(all.freeze());
    assert_eq!(decoded.len(), 5);
    for (batch, records) in &decoded {
        check_our_records(batch, records, false);
    }
}

#[test]
fn control_batches_decode_in_kafka_protocol() {
    let marker = EndTransactionMarker {
        commit: true,
        coordinator_epoch: 3,
    };
    let mut bytes = marker
        .to_batch(PRODUCER_ID, PRODUCER_EPOCH, 1_700_000_000_000)
        .unwrap();
    let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
    assert_eq!(set.records.len(), 1);
    let record = &set.records[0];
    assert!(record.control);
    assert!(record.transactional);
    assert_eq!(record.producer_id, PRODUCER_ID);
    assert_eq!(record.key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
    assert_eq!(record.value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 3][..]));
}
