//! Untrusted bytes into every decoder: nothing may panic, and nothing may allocate by a length
//! it did not check.
//!
//! - arbitrary bytes into every request and response decoder at every version;
//! - every strict prefix of a valid message is an error (a decoder that "succeeds" on
//!   truncated input has read past the end or invented data);
//! - a single corrupted byte in a valid message decodes or fails, but never panics;
//! - hostile lengths (2^31 elements) fail at once.

// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use krafka_protocol::codec::ArbitraryMessage;
use krafka_protocol::messages::{FetchResponse, MetadataResponse, RequestBody, ResponseBody};
use krafka_protocol::{ApiKey, DecodeError, Message};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn every_key_and_version() -> Vec<(ApiKey, i16)> {
    ApiKey::ALL
        .iter()
        .flat_map(|k| {
            let r = k.supported_versions().expect("known key");
            r.iter().map(move |v| (*k, v))
        })
        .collect()
}

#[test]
fn arbitrary_bytes_into_every_decoder_at_every_version() {
    let pairs = every_key_and_version();
    assert_eq!(
        pairs.len(),
        ApiKey::ALL
            .iter()
            .map(|k| k.supported_versions().unwrap().iter().count())
            .sum::<usize>()
    );
    assert!(
        pairs.len() > 300,
        "expected every version of every API, got {}",
        pairs.len()
    );
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    for &(key, version) in &pairs {
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..96), |raw| {
                let bytes = Bytes::from(raw);
                let _ = ResponseBody::decode(key, version, &mut bytes.clone());
                let _ = RequestBody::decode(key, version, &mut bytes.clone());
                Ok(())
            })
            .unwrap();
    }
}

fn prefixes_and_corruptions<M: Message + ArbitraryMessage>() {
    for version in M::VERSIONS.iter() {
        let mut runner = TestRunner::new(Config {
            cases: 8,
            ..Config::default()
        });
        runner
            .run(
                &(M::arbitrary(version), any::<usize>(), any::<u8>()),
                |(value, at, byte)| {
                    let bytes = value.encode_to_bytes(version).unwrap();
                    for len in 0..bytes.len() {
                        let mut prefix = bytes.slice(..len);
                        prop_assert!(
                            M::decode(&mut prefix, version).is_err(),
                            "{} v{version}: prefix of {len} decoded",
                            M::NAME
                        );
                    }
                    if !bytes.is_empty() {
                        let mut corrupt = bytes.to_vec();
                        let i = at % corrupt.len();
                        corrupt[i] ^= byte | 1;
                        let _ = M::decode(&mut Bytes::from(corrupt), version);
                    }
                    Ok(())
                },
            )
            .unwrap();
    }
}

#[test]
fn truncated_and_corrupted_responses() {
    prefixes_and_corruptions::<MetadataResponse>();
    prefixes_and_corruptions::<FetchResponse>();
    prefixes_and_corruptions::<krafka_protocol::messages::ProduceResponse>();
    prefixes_and_corruptions::<krafka_protocol::messages::ApiVersionsResponse>();
    prefixes_and_corruptions::<krafka_protocol::messages::JoinGroupResponse>();
    prefixes_and_corruptions::<krafka_protocol::messages::ListOffsetsResponse>();
}

#[test]
fn a_declared_count_of_two_to_the_31_fails_without_allocating() {
    // Metadata v0 response: brokers array with count 0x7fffffff and nothing after it.
    let mut bytes = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
    let err = ResponseBody::decode(ApiKey::METADATA, 0, &mut bytes).unwrap_err();
    assert!(
        matches!(err, DecodeError::InvalidLength { what: "array", .. }),
        "{err:?}"
    );
    // The same as a compact array (v9): a varint of 2^31 - 1 + 1.
    let mut bytes = Bytes::from_static(&[0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08]);
    assert!(ResponseBody::decode(ApiKey::METADATA, 9, &mut bytes).is_err());
    // A negative string length other than -1.
    let mut bytes = Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xfe]);
    assert!(ResponseBody::decode(ApiKey::METADATA, 0, &mut bytes).is_err());
}

#[test]
fn unknown_api_keys_and_versions_are_errors() {
    let mut bytes = Bytes::new();
    assert_eq!(
        ResponseBody::decode(ApiKey(999), 0, &mut bytes),
        Err(DecodeError::UnknownApiKey(999))
    );
    assert!(matches!(
        ResponseBody::decode(ApiKey::FETCH, 99, &mut bytes),
        Err(DecodeError::UnsupportedVersion {
            api_key: 1,
            version: 99
        })
    ));
}
