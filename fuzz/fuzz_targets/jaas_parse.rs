//! Arbitrary text as `sasl.jaas.config`: parsed or refused, never a panic.

#![no_main]

use krafka_net::security::sasl::jaas::JaasConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = JaasConfig::parse(text) {
            let _ = config.credentials();
        }
    }
});
