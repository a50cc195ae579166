//! Tests of record batches: builder and decoder together, the set walker, control batches,
//! the broker-side edits, and hostile input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::DecodeError;
use crate::compression::{Codecs, Compression};

/// A record as the tests write it.
#[derive(Debug, Clone, PartialEq)]
struct Input {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn sample_inputs() -> Vec<Input> {
    vec![
        Input {
            timestamp: 1_700_000_000_000,
            key: Some(b"key-0".to_vec()),
            value: Some(b"value zero".to_vec()),
            headers: vec![],
        },
        Input {
            timestamp: 1_700_000_000_005,
            key: None,
            value: Some(vec![7; 300]),
            headers: vec![
                ("trace".into(), Some(b"abc".to_vec())),
                ("null".into(), None),
                ("trace".into(), Some(b"again".to_vec())),
            ],
        },
        Input {
            // Earlier than the base timestamp: a negative delta.
            timestamp: 1_699_999_999_000,
            key: Some(vec![]),
            value: None,
            headers: vec![("ünïcödé".into(), Some(vec![]))],
        },
        Input {
            timestamp: 1_700_000_100_000,
            key: Some(vec![1; 200]),
            value: Some(vec![2; 20_000]),
            headers: vec![],
        },
    ]
}

fn build(inputs: &[Input], options: BatchOptions) -> Bytes {
    let mut builder = RecordBatchBuilder::new(options);
    for (i, input) in inputs.iter().enumerate() {
        let headers: Vec<(&str, Option<&[u8]>)> = input
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let delta = builder
            .append(
                input.timestamp,
                input.key.as_deref(),
                input.value.as_deref(),
                &headers,
            )
            .unwrap();
        assert_eq!(delta, i as i32);
    }
    builder.finish(&Codecs::default()).unwrap()
}

fn check_records(records: &[Record], inputs: &[Input], base_offset: i64) {
    assert_eq!(records.len(), inputs.len());
    for (i, (record, input)) in records.iter().zip(inputs).enumerate() {
        assert_eq!(record.offset, base_offset + i as i64);
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

fn decode_all(
    bytes: Bytes,
    options: DecodeOptions,
) -> Result<Vec<(Batch, Vec<Record>)>, DecodeError> {
    let mut out = Vec::new();
    let set = RecordSet::with_options(bytes, options.clone());
    for batch in set {
        let batch = batch?;
        let records = batch.records(&options)?.collect::<Result<Vec<_>, _>>()?;
        out.push((batch, records));
    }
    Ok(out)
}

fn producer_options(compression: Compression) -> BatchOptions {
    BatchOptions {
        compression,
        producer_id: 4242,
        producer_epoch: 7,
        base_sequence: 100,
        transactional: true,
        ..BatchOptions::default()
    }
}

#[test]
fn round_trip_with_every_codec() {
    let inputs = sample_inputs();
    for compression in Compression::ALL {
        let bytes = build(&inputs, producer_options(compression));
        let decoded = decode_all(bytes.clone(), DecodeOptions::default()).unwrap();
        assert_eq!(decoded.len(), 1);
        let (Batch::V2(batch), records) = &decoded[0] else {
            panic!("not a v2 batch");
        };
        check_records(records, &inputs, 0);
        assert_eq!(batch.compression(), compression);
        assert_eq!(batch.base_offset(), 0);
        assert_eq!(batch.last_offset_delta(), 3);
        assert_eq!(batch.last_offset(), 3);
        assert_eq!(batch.record_count(), 4);
        assert_eq!(batch.base_timestamp(), 1_700_000_000_000);
        assert_eq!(batch.max_timestamp(), 1_700_000_100_000);
        assert_eq!(batch.producer_id(), 4242);
        assert_eq!(batch.producer_epoch(), 7);
        assert_eq!(batch.base_sequence(), 100);
        assert_eq!(batch.last_sequence(), 103);
        assert_eq!(batch.partition_leader_epoch(), NO_PARTITION_LEADER_EPOCH);
        assert!(batch.is_transactional());
        assert!(!batch.is_control());
        assert_eq!(batch.delete_horizon_ms(), None);
        assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(batch.size_in_bytes(), bytes.len());
        assert_eq!(batch.batch_length() as usize, bytes.len() - 12);
        if compression == Compression::None {
            // Values are slices of the fetched bytes, not copies.
            let value = records[3].value_bytes().unwrap();
            assert!(bytes.as_ptr_range().contains(&value.as_ptr()));
        } else {
            assert!(bytes.len() < 20_000, "{compression} did not compress");
        }
    }
}

#[test]
fn defaults_are_what_a_plain_producer_sends() {
    let bytes = build(&sample_inputs()[..1], BatchOptions::default());
    let batch = RecordBatch::decode(&mut bytes.clone(), &DecodeOptions::default()).unwrap();
    assert_eq!(batch.producer_id(), NO_PRODUCER_ID);
    assert_eq!(batch.producer_epoch(), NO_PRODUCER_EPOCH);
    assert_eq!(batch.base_sequence(), NO_SEQUENCE);
    assert_eq!(batch.last_sequence(), NO_SEQUENCE);
    assert_eq!(batch.attributes(), 0);
    assert_eq!(batch.magic(), 2);
}

#[test]
fn explicit_base_timestamp_and_offset() {
    let inputs = sample_inputs();
    let bytes = build(
        &inputs,
        BatchOptions {
            base_timestamp: Some(0),
            base_offset: 1_000,
            partition_leader_epoch: 3,
            ..BatchOptions::default()
        },
    );
    let decoded = decode_all(bytes, DecodeOptions::default()).unwrap();
    check_records(&decoded[0].1, &inputs, 1_000);
    let Batch::V2(batch) = &decoded[0].0 else {
        panic!()
    };
    assert_eq!(batch.base_timestamp(), 0);
    assert_eq!(batch.partition_leader_epoch(), 3);
}

#[test]
fn size_estimate_is_exact_without_compression() {
    let mut builder = RecordBatchBuilder::new(BatchOptions::default());
    assert!(builder.is_empty());
    assert_eq!(builder.size_estimate(), RECORD_BATCH_OVERHEAD);
    for i in 0..100u32 {
        builder
            .append(
                i64::from(i),
                Some(&i.to_be_bytes()),
                Some(&[0; 50]),
                &[("h", None)],
            )
            .unwrap();
    }
    assert_eq!(builder.record_count(), 100);
    let estimate = builder.size_estimate();
    assert!(builder.has_room_for(estimate + 100, None, Some(&[0; 50]), &[]));
    assert!(!builder.has_room_for(estimate + 50, None, Some(&[0; 50]), &[]));
    assert_eq!(builder.finish(&Codecs::default()).unwrap().len(), estimate);
    // An empty batch always has room: an oversized record gets a batch of its own.
    let empty = RecordBatchBuilder::new(BatchOptions::default());
    assert!(empty.has_room_for(10, None, Some(&[0; 1000]), &[]));
}

#[test]
fn compressed_size_estimate_uses_the_ratio() {
    let mut builder = RecordBatchBuilder::new(BatchOptions {
        compression: Compression::Lz4,
        estimated_compression_ratio: 0.5,
        ..BatchOptions::default()
    });
    builder.append(0, None, Some(&[0; 10_000]), &[]).unwrap();
    let records = builder.records_size();
    assert_eq!(builder.size_estimate(), RECORD_BATCH_OVERHEAD + records / 2);
}

#[test]
fn empty_batch_is_an_error() {
    let builder = RecordBatchBuilder::new(BatchOptions::default());
    assert!(builder.finish(&Codecs::default()).is_err());
}

#[test]
fn buffer_reuse() {
    let mut dirty = BytesMut::from(&b"leftover bytes from a previous batch"[..]);
    dirty.reserve(4096);
    let mut builder = RecordBatchBuilder::with_buffer(BatchOptions::default(), dirty);
    builder.append(5, None, Some(b"v"), &[]).unwrap();
    let bytes = builder.finish(&Codecs::default()).unwrap();
    let decoded = decode_all(bytes, DecodeOptions::default()).unwrap();
    assert_eq!(decoded[0].1[0].value(), Some(&b"v"[..]));
}

#[test]
fn control_batches() {
    let marker = EndTransactionMarker {
        commit: false,
        coordinator_epoch: 17,
    };
    let bytes = marker.to_batch(99, 3, 1234).unwrap();
    let decoded = decode_all(bytes, DecodeOptions::default()).unwrap();
    let (batch, records) = &decoded[0];
    assert!(batch.is_control());
    assert!(batch.is_transactional());
    assert_eq!(batch.producer_id(), 99);
    let Batch::V2(v2) = batch else { panic!() };
    assert_eq!(v2.producer_epoch(), 3);
    assert_eq!(v2.base_sequence(), NO_SEQUENCE);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].timestamp, 1234);
    let key = ControlRecordKey::of(&records[0]).unwrap();
    assert_eq!(key.record_type, ControlRecordType::Abort);
    assert_eq!(key.version, 0);
    assert_eq!(
        EndTransactionMarker::from_record(&records[0]),
        Ok(Some(marker))
    );

    let commit = EndTransactionMarker {
        commit: true,
        coordinator_epoch: 0,
    };
    assert_eq!(&commit.key().to_bytes(), &[0, 0, 0, 1]);
    assert_eq!(&commit.value(), &[0, 0, 0, 0, 0, 0]);
    assert_eq!(
        ControlRecordKey::parse(&[0, 1, 0, 6, 9, 9])
            .unwrap()
            .record_type,
        ControlRecordType::KraftVoters
    );
    assert_eq!(
        ControlRecordKey::parse(&[0, 0, 0x7f, 0])
            .unwrap()
            .record_type,
        ControlRecordType::Unknown(0x7f00)
    );
    for id in -1..8 {
        assert_eq!(ControlRecordType::from_id(id).id(), id);
    }
    assert!(ControlRecordKey::parse(&[0, 0, 0]).is_err());
    assert!(ControlRecordKey::parse(&[0xff, 0xff, 0, 0]).is_err());
    assert!(EndTransactionMarker::parse_value(&[0, 0, 0, 0, 0]).is_err());
    assert_eq!(
        EndTransactionMarker::parse_value(&[0, 1, 0, 0, 1, 0, 42]),
        Ok(256)
    );

    // A KRaft control record is not a transaction marker.
    let record = Record::from_parts(
        records[0].offset,
        records[0].timestamp,
        records[0].timestamp_type,
        Some(Bytes::from_static(&[0, 0, 0, 2])),
        records[0].value_bytes(),
    )
    .unwrap();
    assert_eq!(EndTransactionMarker::from_record(&record), Ok(None));
}

#[test]
fn crc_mismatch_is_detected_and_can_be_skipped() {
    let mut corrupt = BytesMut::from(&build(&sample_inputs(), BatchOptions::default())[..]);
    // Inside the last record's value (the last byte is its header count).
    let at = corrupt.len() - 2;
    corrupt[at] ^= 0x01;
    let corrupt = corrupt.freeze();
    assert!(matches!(
        decode_all(corrupt.clone(), DecodeOptions::default()),
        Err(DecodeError::CrcMismatch { .. })
    ));
    let lenient = DecodeOptions {
        verify_crc: false,
        ..DecodeOptions::default()
    };
    let decoded = decode_all(corrupt.clone(), lenient).unwrap();
    let Batch::V2(batch) = &decoded[0].0 else {
        panic!()
    };
    assert!(batch.verify_crc().is_err());
    assert_ne!(batch.crc(), batch.compute_crc());
}

#[test]
fn broker_edits_keep_the_crc_valid() {
    let mut stored = BytesMut::from(&build(&sample_inputs(), BatchOptions::default())[..]);
    let crc_before = stored[17..21].to_vec();
    set_base_offset(&mut stored, 5_000).unwrap();
    set_partition_leader_epoch(&mut stored, 12).unwrap();
    assert_eq!(&stored[17..21], &crc_before[..]);
    let decoded = decode_all(stored.clone().freeze(), DecodeOptions::default()).unwrap();
    let Batch::V2(batch) = &decoded[0].0 else {
        panic!()
    };
    assert_eq!(batch.base_offset(), 5_000);
    assert_eq!(batch.partition_leader_epoch(), 12);
    check_records(&decoded[0].1, &sample_inputs(), 5_000);

    set_log_append_time(&mut stored, 1_800_000_000_000).unwrap();
    let decoded = decode_all(stored.freeze(), DecodeOptions::default()).unwrap();
    let Batch::V2(batch) = &decoded[0].0 else {
        panic!()
    };
    assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
    for record in &decoded[0].1 {
        assert_eq!(record.timestamp, 1_800_000_000_000);
        assert_eq!(record.timestamp_type, TimestampType::LogAppendTime);
    }

    let mut short = [0u8; 60];
    assert!(set_base_offset(&mut short, 1).is_err());
    let mut legacy = [0u8; 80];
    legacy[16] = 1;
    assert_eq!(
        set_base_offset(&mut legacy, 1),
        Err(DecodeError::UnsupportedMagic(1))
    );
}

#[test]
fn several_batches_and_a_partial_tail() {
    let inputs = sample_inputs();
    let mut all = BytesMut::new();
    let mut next = 0;
    for compression in Compression::ALL {
        let mut batch = BytesMut::from(&build(&inputs, producer_options(compression))[..]);
        set_base_offset(&mut batch, next).unwrap();
        next += inputs.len() as i64;
        all.extend_from_slice(&batch);
    }
    let cut_batch = build(&inputs, BatchOptions::default());
    all.extend_from_slice(&cut_batch[..cut_batch.len() / 2]);
    let mut set = RecordSet::new(all.freeze());
    let mut seen = 0;
    for batch in set.by_ref() {
        let batch = batch.unwrap();
        assert_eq!(batch.next_offset(), (seen + 1) * inputs.len() as i64);
        seen += 1;
    }
    assert_eq!(seen, 5);
    assert_eq!(set.remaining(), cut_batch.len() / 2);
    let records: Vec<_> = RecordSet::new(Bytes::from(
        [
            build(&inputs, BatchOptions::default()),
            build(&inputs, BatchOptions::default()),
        ]
        .concat(),
    ))
    .records()
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(records.len(), 2 * inputs.len());
}

#[test]
fn truncated_batches() {
    let bytes = build(&sample_inputs(), producer_options(Compression::Gzip));
    // As a single batch, a cut is an error.
    assert!(matches!(
        RecordBatch::decode(
            &mut bytes.slice(..bytes.len() - 1),
            &DecodeOptions::default()
        ),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(RecordBatch::decode(&mut bytes.slice(..10), &DecodeOptions::default()).is_err());
    // In a set, it is the end of the data.
    let mut set = RecordSet::new(bytes.slice(..bytes.len() - 1));
    assert!(set.next().is_none());
    assert_eq!(set.remaining(), bytes.len() - 1);
}

#[test]
fn record_count_must_match_the_records() {
    for (count, expect_trailing) in [(5i32, false), (3, true)] {
        let mut bytes = BytesMut::from(&build(&sample_inputs(), BatchOptions::default())[..]);
        bytes[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let err = decode_all(bytes.freeze(), DecodeOptions::default()).unwrap_err();
        assert_eq!(
            matches!(err, DecodeError::TrailingBytes { .. }),
            expect_trailing,
            "{err:?}"
        );
    }
}

#[test]
fn hostile_headers() {
    let mut bytes = BytesMut::from(&build(&sample_inputs()[..1], BatchOptions::default())[..]);
    // Negative record count, then unknown codec 7, then a batch length below the minimum.
    let edits: [(usize, &[u8]); 3] = [
        (57, &[0xff, 0xff, 0xff, 0xff]),
        (22, &[7]),
        (8, &[0, 0, 0, 30]),
    ];
    for (at, patch) in edits {
        let mut b = bytes.clone();
        b[at..at + patch.len()].copy_from_slice(patch);
        let options = DecodeOptions {
            verify_crc: false,
            ..DecodeOptions::default()
        };
        assert!(decode_all(b.freeze(), options).is_err(), "{at}");
    }
    bytes[16] = 3;
    assert_eq!(
        decode_all(bytes.freeze(), DecodeOptions::default()).unwrap_err(),
        DecodeError::UnsupportedMagic(3)
    );
    // A size below any format's minimum is corruption even in a short buffer.
    let mut tiny = [0u8; 20];
    tiny[8..12].copy_from_slice(&5i32.to_be_bytes());
    assert!(
        RecordSet::new(Bytes::copy_from_slice(&tiny))
            .next()
            .unwrap()
            .is_err()
    );
}

#[test]
fn bounded_decompression_applies_to_batches() {
    let inputs = sample_inputs();
    let bytes = build(&inputs, producer_options(Compression::Zstd));
    let tight = DecodeOptions {
        max_decompressed_size: 1_000,
        ..DecodeOptions::default()
    };
    assert_eq!(
        decode_all(bytes, tight.clone()).unwrap_err(),
        DecodeError::DecompressedTooLarge { max: 1_000 }
    );
    // Nothing is decompressed, or allocated, for an uncompressed batch.
    let plain = build(&inputs, BatchOptions::default());
    check_records(&decode_all(plain, tight).unwrap()[0].1, &inputs, 0);
}

/// Feeds every prefix, and every single-byte corruption, of `bytes` to the decoders. None may
/// panic; prefixes must end cleanly in a set.
fn torture(bytes: &Bytes) {
    let lenient = DecodeOptions {
        verify_crc: false,
        max_decompressed_size: 1 << 20,
        ..DecodeOptions::default()
    };
    for cut in 0..bytes.len() {
        let prefix = bytes.slice(..cut);
        assert!(
            decode_all(prefix.clone(), lenient.clone())
                .unwrap()
                .is_empty()
        );
        assert!(RecordBatch::decode(&mut prefix.clone(), &lenient).is_err());
    }
    for at in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut b = BytesMut::from(&bytes[..]);
            b[at] ^= flip;
            let b = b.freeze();
            let _ = decode_all(b.clone(), lenient.clone());
            assert!(decode_all(b, DecodeOptions::default()).is_err() || at < 21);
        }
    }
}

#[test]
fn every_truncation_and_corruption_is_handled() {
    let inputs = &sample_inputs()[..3];
    for compression in Compression::ALL {
        torture(&build(inputs, producer_options(compression)));
    }
    torture(
        &EndTransactionMarker {
            commit: true,
            coordinator_epoch: 1,
        }
        .to_batch(1, 1, 1)
        .unwrap(),
    );
}

fn arb_input() -> impl Strategy<Value = Input> {
    let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64));
    (
        // Spread over most of the i64 range, while every delta still fits.
        any::<i64>().prop_map(|t| t >> 2),
        bytes(),
        bytes(),
        proptest::collection::vec(("\\PC{0,8}", bytes()), 0..4),
    )
        .prop_map(|(timestamp, key, value, headers)| Input {
            timestamp,
            key,
            value,
            headers,
        })
}

fn arb_compression() -> impl Strategy<Value = Compression> {
    (0u8..5).prop_map(|id| Compression::from_id(id).unwrap_or_default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_records_round_trip(
        inputs in proptest::collection::vec(arb_input(), 1..20),
        compression in arb_compression(),
        base_offset in 0i64..i64::MAX / 2,
    ) {
        let bytes = build(&inputs, BatchOptions { compression, base_offset, ..BatchOptions::default() });
        let decoded = decode_all(bytes, DecodeOptions::default()).unwrap();
        prop_assert_eq!(decoded.len(), 1);
        check_records(&decoded[0].1, &inputs, base_offset);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let options = DecodeOptions { verify_crc: false, max_decompressed_size: 1 << 16, ..DecodeOptions::default() };
        let _ = decode_all(Bytes::from(data.clone()), options.clone());
        let _ = RecordBatch::decode(&mut Bytes::from(data), &options);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        count in -2i32..40,
        codec in 0i16..8,
    ) {
        // A well-formed header makes the decoder reach the records parser with junk.
        let mut bytes = BytesMut::from(&build(&sample_inputs()[..1], BatchOptions::default())[..61]);
        bytes.extend_from_slice(&body);
        let length = (bytes.len() - 12) as i32;
        bytes[8..12].copy_from_slice(&length.to_be_bytes());
        bytes[21..23].copy_from_slice(&codec.to_be_bytes());
        bytes[57..61].copy_from_slice(&count.to_be_bytes());
        let options = DecodeOptions { verify_crc: false, max_decompressed_size: 1 << 16, ..DecodeOptions::default() };
        let _ = decode_all(bytes.freeze(), options);
    }
}

#[test]
fn borrowed_views_agree_with_owned_records() {
    let inputs = sample_inputs();
    for compression in Compression::ALL {
        let batch = build(&inputs, producer_options(compression));
        let options = DecodeOptions::default();
        let decoded = RecordBatch::decode(&mut batch.clone(), &options).unwrap();
        let owned: Vec<Record> = decoded
            .records(&options)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut records = decoded.records(&options).unwrap();
        let mut seen = 0;
        while let Some(view) = records.next_view() {
            let view = view.unwrap();
            let record = &owned[seen];
            assert_eq!(view.offset, record.offset);
            assert_eq!(view.timestamp, record.timestamp);
            assert_eq!(view.key, record.key());
            assert_eq!(view.value, record.value());
            let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = view
                .headers
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect();
            let expected: Vec<(Vec<u8>, Option<Vec<u8>>)> = record
                .headers_owned()
                .iter()
                .map(|h| (h.key.to_vec(), h.value.map(|v| v.to_vec())))
                .collect();
            assert_eq!(headers, expected);
            assert_eq!(view.headers.len(), record.headers().len());
            seen += 1;
        }
        assert_eq!(seen, inputs.len(), "{compression}");
    }
}

#[test]
fn views_and_owned_records_share_one_position() {
    let inputs = sample_inputs();
    let batch = build(&inputs, producer_options(Compression::None));
    let options = DecodeOptions::default();
    let decoded = RecordBatch::decode(&mut batch.clone(), &options).unwrap();
    let mut records = decoded.records(&options).unwrap();
    let first = records.next_view().unwrap().unwrap().offset;
    let second = records.next().unwrap().unwrap().offset;
    assert_eq!((first, second), (0, 1));
}

#[test]
fn set_records_walks_every_batch_and_stops_after_an_error() {
    let inputs = sample_inputs();
    let one = build(&inputs, producer_options(Compression::Lz4));
    let mut two = BytesMut::new();
    two.extend_from_slice(&one);
    two.extend_from_slice(&one);
    let both: Vec<Record> = RecordSet::new(two.clone().freeze())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(both.len(), 2 * inputs.len());
    // Corrupt the second batch's CRC: the first batch's records come, then one error, then
    // nothing.
    let crc_at = one.len() + 17;
    two[crc_at] ^= 0xff;
    let results: Vec<_> = RecordSet::new(two.freeze()).records().collect();
    assert_eq!(results.len(), inputs.len() + 1);
    assert!(results[..inputs.len()].iter().all(Result::is_ok));
    assert!(matches!(
        results[inputs.len()],
        Err(DecodeError::CrcMismatch { .. })
    ));
}

#[test]
fn decoded_records_share_the_batch_and_slice_without_copying() {
    let inputs = sample_inputs();
    let batch = build(&inputs, producer_options(Compression::None));
    let range = batch.as_ptr() as usize..batch.as_ptr() as usize + batch.len();
    let options = DecodeOptions::default();
    let decoded = RecordBatch::decode(&mut batch.clone(), &options).unwrap();
    for record in decoded.records(&options).unwrap() {
        let record = record.unwrap();
        for part in [record.key_bytes(), record.value_bytes()]
            .into_iter()
            .flatten()
        {
            assert!(
                range.contains(&(part.as_ptr() as usize)),
                "a part was copied"
            );
        }
        if let Some(value) = record.value() {
            assert!(range.contains(&(value.as_ptr() as usize)));
        }
    }
}

#[test]
fn records_built_from_parts_keep_them() {
    let key = Bytes::from_static(b"k");
    let value = Bytes::from_static(b"value");
    let both = Record::from_parts(
        7,
        8,
        TimestampType::CreateTime,
        Some(key.clone()),
        Some(value),
    )
    .unwrap();
    assert_eq!((both.offset, both.timestamp), (7, 8));
    assert_eq!(
        (both.key(), both.value()),
        (Some(&b"k"[..]), Some(&b"value"[..]))
    );
    assert!(both.headers().is_empty());
    let key_only =
        Record::from_parts(0, 0, TimestampType::CreateTime, Some(key.clone()), None).unwrap();
    assert_eq!(
        key_only.key_bytes().unwrap().as_ptr(),
        key.as_ptr(),
        "a lone part is shared"
    );
    assert_eq!(key_only.value(), None);
    let neither = Record::from_parts(0, 0, TimestampType::CreateTime, None, None).unwrap();
    assert_eq!((neither.key(), neither.value()), (None, None));
    assert_ne!(both, key_only);
}

#[test]
fn producer_state_is_stamped_after_sealing_with_a_valid_crc() {
    for compression in [Compression::None, Compression::Zstd] {
        let inputs = sample_inputs();
        let options = BatchOptions {
            compression,
            ..BatchOptions::default()
        };
        let mut sealed = BytesMut::from(build(&inputs, options).as_ref());
        set_producer_state(&mut sealed, 77, 3, 1_000).unwrap();
        let decoded = decode_all(sealed.freeze(), DecodeOptions::default()).unwrap();
        let (batch, records) = &decoded[0];
        let Batch::V2(batch) = batch else {
            panic!("expected a v2 batch")
        };
        batch.verify_crc().unwrap();
        assert_eq!(
            (batch.producer_id(), batch.producer_epoch()),
            (77, 3),
            "{compression:?}"
        );
        assert_eq!(batch.base_sequence(), 1_000);
        check_records(records, &inputs, 0);
    }
    let mut short = [0u8; 20];
    assert!(set_producer_state(&mut short, 1, 1, 1).is_err());
}
