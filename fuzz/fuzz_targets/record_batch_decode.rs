//! Arbitrary bytes as a `records` field: every batch (magic 0, 1 or 2, any codec) and every
//! record in it is decoded, with CRC checks off so the fuzzer reaches past the checksum, and
//! decompression bounded so a bomb is an error. Nothing may panic or allocate without bound.

#![no_main]

use bytes::Bytes;
use krafka_protocol::records::{DecodeOptions, RecordSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options =
        DecodeOptions { verify_crc: false, max_decompressed_size: 1 << 20, ..Default::default() };
    let set = RecordSet::with_options(Bytes::copy_from_slice(data), options.clone());
    for batch in set {
        let Ok(batch) = batch else { break };
        let Ok(records) = batch.records(&options) else { continue };
        for record in records {
            let Ok(record) = record else { break };
            let _ = record.headers().iter().count();
        }
    }
});
