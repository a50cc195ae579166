//! A hostile SCRAM server: arbitrary bytes as its server-first message and, when that is
//! accepted, as its server-final message. The client may refuse either, never panic; it may
//! finish only if the server proved the password (which random bytes cannot).

#![no_main]

use krafka_net::security::sasl::{ScramClient, ScramHash};
use krafka_net::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (first, last) = data.split_at(split);
    let hash = if data.len() % 2 == 0 { ScramHash::Sha256 } else { ScramHash::Sha512 };
    let mut client = ScramClient::with_nonce(hash, "user", Secret::new("pencil"), "fyko+d2lbbFgONRv9qkxdawL".into());
    let _ = client.client_first();
    // Keep the iteration count low enough that the fuzzer keeps its pace.
    if first.windows(3).any(|w| w == b"i=9" || w == b"i=5" || w == b"i=6" || w == b"i=7" || w == b"i=8") {
        return;
    }
    if client.server_first(first).is_ok() {
        let done = client.server_final(last.get(1..).unwrap_or_default()).is_ok();
        assert_eq!(done, client.is_done());
    }
});
