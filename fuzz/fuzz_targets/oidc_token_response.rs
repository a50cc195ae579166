//! Arbitrary bytes as an OIDC token endpoint's answer, under any HTTP status: a token, a
//! retriable failure or a final one, never a panic; a token read is one the broker could take.

#![no_main]

use std::time::{Duration, SystemTime};

use krafka_net::security::OidcConfig;
use krafka_net::security::sasl::oidc::{TokenAnswer, read_token_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&status, body)) = data.split_first() else {
        return;
    };
    let config = OidcConfig::client_credentials("https://idp/t", "c", "s");
    let status = 100 + u16::from(status) * 2;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if let TokenAnswer::Token(token) = read_token_response(&config, status, body, now) {
        assert!(token.expires_at > now);
        assert!(!token.value.is_empty());
    }
});
