//! Arbitrary bytes into every response decoder: the first two bytes choose the API and the
//! version, the rest is the body. A body that decodes must re-encode, the re-encoding must
//! decode, and encoding that again must give the same bytes (decode → encode is a fixed point
//! after one step). Bytes, not values, are compared: a decoded `float64` may be NaN.

#![no_main]

use bytes::{Bytes, BytesMut};
use krafka_protocol::ApiKey;
use krafka_protocol::messages::ResponseBody;
use libfuzzer_sys::fuzz_target;

fn encode(body: &ResponseBody, version: i16) -> Bytes {
    let mut out = BytesMut::new();
    body.encode(&mut out, version).expect("a decoded body re-encodes");
    out.freeze()
}

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
    let first = encode(&decoded, version);
    let again = ResponseBody::decode(key, version, &mut first.clone()).expect("re-encoding decodes");
    assert_eq!(first, encode(&again, version));
});
