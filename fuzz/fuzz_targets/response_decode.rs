//! Arbitrary bytes into every response decoder: the first two bytes choose the API and the
//! version, the rest is the body. A body that decodes must re-encode, and the re-encoding must
//! decode to the same value (decode → encode → decode is stable).

#![no_main]

use bytes::Bytes;
use krafka_protocol::ApiKey;
use krafka_protocol::messages::ResponseBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [key_pick, version_pick, body @ ..] = data else {
        return;
    };
    let key = ApiKey::ALL[usize::from(*key_pick) % ApiKey::ALL.len()];
    let Some(range) = key.supported_versions() else {
        return;
    };
    let span = (range.max - range.min + 1) as u8;
    let version = range.min + i16::from(version_pick % span);
    let mut input = Bytes::copy_from_slice(body);
    let Ok(decoded) = ResponseBody::decode(key, version, &mut input) else {
        return;
    };
    let mut out = bytes::BytesMut::new();
    decoded
        .encode(&mut out, version)
        .expect("a decoded body re-encodes");
    let again = ResponseBody::decode(key, version, &mut out.freeze()).expect("re-encoding decodes");
    assert_eq!(again, decoded);
});
