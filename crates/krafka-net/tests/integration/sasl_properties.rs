//! Property tests of the SASL parsers: any server message is a result, never a panic; any
//! credentials survive JAAS quoting; SCRAM proves itself against an independent server
//! computation for any user, password, salt and nonce.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use krafka_net::Secret;
use krafka_net::security::sasl::jaas::JaasConfig;
use krafka_net::security::sasl::{ScramClient, ScramHash};
use proptest::prelude::*;

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

proptest! {
    #[test]
    fn any_server_first_message_is_a_result(message in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut client = ScramClient::with_nonce(ScramHash::Sha256, "u", Secret::new("p"), "abc".into());
        client.client_first().unwrap();
        // Iteration counts in range would make some inputs slow; the result, not the speed, is
        // the property here.
        let _ = client.server_first(&message);
        prop_assert!(!client.is_done());
    }

    #[test]
    fn credentials_survive_jaas_quoting(user in "\\PC{1,30}", password in "\\PC{0,40}") {
        let text = format!(
            "org.apache.kafka.common.security.scram.ScramLoginModule required username={} password={};",
            quote(&user),
            quote(&password)
        );
        let parsed = JaasConfig::parse(&text).unwrap();
        let (u, p) = parsed.credentials().unwrap();
        prop_assert_eq!(u, user);
        prop_assert_eq!(p.expose(), password.as_str());
    }

    #[test]
    fn arbitrary_jaas_text_is_a_result(text in "\\PC{0,120}") {
        let _ = JaasConfig::parse(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The client's proof and its check of the server match a server computed here from
    /// RFC 5802's definitions, for any user, password, salt and nonces.
    #[test]
    fn scram_agrees_with_an_independent_server(
        user in "[a-z=,]{1,12}",
        password in "\\PC{0,20}",
        salt in proptest::collection::vec(any::<u8>(), 1..24),
        client_nonce in "[A-Za-z0-9+/]{8,24}",
        server_nonce in "[A-Za-z0-9]{4,16}",
        sha512 in any::<bool>(),
    ) {
        use aws_lc_rs::{digest, hmac, pbkdf2};
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (hash, mac, kdf, dig) = if sha512 {
            (ScramHash::Sha512, hmac::HMAC_SHA512, pbkdf2::PBKDF2_HMAC_SHA512, &digest::SHA512)
        } else {
            (ScramHash::Sha256, hmac::HMAC_SHA256, pbkdf2::PBKDF2_HMAC_SHA256, &digest::SHA256)
        };
        let mut client = ScramClient::with_nonce(hash, &user, Secret::new(password.clone()), client_nonce.clone());
        let first = String::from_utf8(client.client_first().unwrap()).unwrap();
        let bare = first.strip_prefix("n,,").unwrap().to_owned();
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!("r={nonce},s={},i=4096", b64.encode(&salt));
        let client_final = String::from_utf8(client.server_first(server_first.as_bytes()).unwrap()).unwrap();
        let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
        prop_assert_eq!(without_proof, format!("c=biws,r={nonce}"));
        let mut salted = vec![0u8; dig.output_len()];
        pbkdf2::derive(kdf, std::num::NonZeroU32::new(4096).unwrap(), &salt, password.as_bytes(), &mut salted);
        let key = hmac::Key::new(mac, &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let stored = digest::digest(dig, client_key.as_ref());
        let auth = format!("{bare},{server_first},{without_proof}");
        let signature = hmac::sign(&hmac::Key::new(mac, stored.as_ref()), auth.as_bytes());
        let expected: Vec<u8> = client_key.as_ref().iter().zip(signature.as_ref()).map(|(a, b)| a ^ b).collect();
        prop_assert_eq!(b64.decode(proof).unwrap(), expected);
        let server_key = hmac::sign(&key, b"Server Key");
        let server_signature = hmac::sign(&hmac::Key::new(mac, server_key.as_ref()), auth.as_bytes());
        client.server_final(format!("v={}", b64.encode(server_signature.as_ref())).as_bytes()).unwrap();
        prop_assert!(client.is_done());
    }
}
