//! Proptest helpers shared by every generated message's strategy and round-trip test.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::{ArbitraryMessage, Message, RawTaggedField};

/// Generated arrays hold at most this many elements, so nested messages stay small.
pub const MAX_ARRAY_LEN: usize = 3;

/// Strings with ASCII and multi-byte characters.
pub fn string_strategy() -> BoxedStrategy<super::StrBytes> {
    "[a-zA-Z0-9 ._é漢-]{0,10}"
        .prop_map(super::StrBytes::from_string)
        .boxed()
}

/// Short byte strings.
pub fn bytes_strategy() -> BoxedStrategy<Bytes> {
    proptest::collection::vec(any::<u8>(), 0..12)
        .prop_map(Bytes::from)
        .boxed()
}

/// Unknown tagged fields, with tags far above any known one, in ascending order.
pub fn unknown_tagged_strategy() -> BoxedStrategy<super::UnknownTaggedFields> {
    proptest::collection::btree_map(1000u32..1010, bytes_strategy(), 0..2)
        .prop_map(|m| {
            let fields: Vec<RawTaggedField> = m
                .into_iter()
                .map(|(tag, data)| RawTaggedField { tag, data })
                .collect();
            fields.into()
        })
        .boxed()
}

/// Encodes `value` at `version` and checks the size, the decode and the re-encode.
pub fn round_trip_one<M: Message>(value: &M, version: i16) -> Result<(), TestCaseError> {
    let size = value
        .encoded_size(version)
        .map_err(|e| TestCaseError::fail(format!("{} v{version}: size: {e}", M::NAME)))?;
    let mut buf = BytesMut::with_capacity(size);
    value
        .encode(&mut buf, version)
        .map_err(|e| TestCaseError::fail(format!("{} v{version}: encode: {e}", M::NAME)))?;
    prop_assert_eq!(buf.len(), size, "{} v{}: size mismatch", M::NAME, version);
    let bytes = buf.freeze();
    let mut input = bytes.clone();
    let decoded = M::decode(&mut input, version)
        .map_err(|e| TestCaseError::fail(format!("{} v{version}: decode: {e}", M::NAME)))?;
    prop_assert!(
        input.is_empty(),
        "{} v{}: {} bytes left",
        M::NAME,
        version,
        input.len()
    );
    prop_assert_eq!(&decoded, value, "{} v{}", M::NAME, version);
    let again = decoded
        .encode_to_bytes(version)
        .map_err(|e| TestCaseError::fail(format!("{} v{version}: re-encode: {e}", M::NAME)))?;
    prop_assert_eq!(again, bytes, "{} v{}: re-encode differs", M::NAME, version);
    Ok(())
}

/// Round-trips generated values of `M` at every version it defines, panicking on the first
/// failure: this is a test driver, called only from `#[test]` functions.
#[allow(clippy::panic)]
pub fn check_round_trip<M: Message + ArbitraryMessage>() {
    for version in M::VERSIONS.iter() {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            ..Config::default()
        });
        let result = runner.run(&M::arbitrary(version), |value| {
            round_trip_one(&value, version)
        });
        if let Err(e) = result {
            panic!("{} v{version}: {e}", M::NAME);
        }
    }
}
