//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses them (KIP-84): the client
//! side, as a state machine over the three messages, with no I/O.
//!
//! The server is untrusted: its first message must extend our nonce, carry a decodable salt and
//! an iteration count within bounds, and its final message must prove it knows the password
//! (its signature is checked), or the exchange fails. Nothing here panics on any input.

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

pub use super::scram_hash::ScramHash;
use super::step::SaslFailure;
use crate::security::Secret;

/// Kafka's lowest iteration count (`ScramMechanism.minIterations`).
pub const MIN_ITERATIONS: u32 = 4096;
/// The highest iteration count accepted, so a hostile server cannot make the client spin
/// (Kafka's brokers store at most 16384).
pub const MAX_ITERATIONS: u32 = 100_000;

// The crypto of each hash; the hash itself (a name) is configuration, in `scram_hash`.
impl ScramHash {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Self::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// Where the exchange is.
#[derive(Debug)]
enum State {
    /// The client-first message is to be sent.
    Initial,
    /// Sent client-first; waiting for server-first.
    SentFirst,
    /// Sent client-final; waiting for server-final, whose signature must be this.
    SentFinal { server_signature: Vec<u8> },
    /// Verified.
    Done,
    /// Failed; no further message is accepted.
    Failed,
}

/// The client side of one SCRAM exchange.
#[derive(Debug)]
pub struct ScramClient {
    hash: ScramHash,
    username: String,
    password: Secret,
    nonce: String,
    state: State,
    client_first_bare: String,
}

impl ScramClient {
    /// A client with a fresh random nonce.
    pub fn new(hash: ScramHash, username: &str, password: Secret) -> Result<Self, SaslFailure> {
        let mut bytes = [0u8; 24];
        aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| SaslFailure::new("the system's random number generator failed"))?;
        Ok(Self::with_nonce(
            hash,
            username,
            password,
            BASE64.encode(bytes),
        ))
    }

    /// A client with a given nonce (for test vectors).
    pub fn with_nonce(hash: ScramHash, username: &str, password: Secret, nonce: String) -> Self {
        Self {
            hash,
            username: escape_name(username),
            password,
            nonce,
            state: State::Initial,
            client_first_bare: String::new(),
        }
    }

    /// The client-first message: `n,,n=USER,r=NONCE`.
    pub fn client_first(&mut self) -> Result<Vec<u8>, SaslFailure> {
        if !matches!(self.state, State::Initial) {
            return Err(self.fail("client-first asked for twice"));
        }
        self.client_first_bare = format!("n={},r={}", self.username, self.nonce);
        self.state = State::SentFirst;
        Ok(format!("n,,{}", self.client_first_bare).into_bytes())
    }

    /// Takes the server-first message and returns the client-final message.
    pub fn server_first(&mut self, message: &[u8]) -> Result<Vec<u8>, SaslFailure> {
        if !matches!(self.state, State::SentFirst) {
            return Err(self.fail("server-first message out of order"));
        }
        let parsed = match parse_server_first(message, &self.nonce) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.state = State::Failed;
                return Err(e);
            }
        };
        let hash = self.hash;
        let mut salted = vec![0u8; hash.len()];
        let Some(iterations) = std::num::NonZeroU32::new(parsed.iterations) else {
            return Err(self.fail("iteration count 0"));
        };
        pbkdf2::derive(
            hash.pbkdf2(),
            iterations,
            &parsed.salt,
            self.password.expose().as_bytes(),
            &mut salted,
        );
        let salted_key = hmac::Key::new(hash.hmac(), &salted);
        let client_key = hmac::sign(&salted_key, b"Client Key");
        let stored_key = digest::digest(hash.digest(), client_key.as_ref());
        // c=biws is base64("n,,"): no channel binding, no authorization identity.
        let without_proof = format!("c=biws,r={}", parsed.nonce);
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, parsed.raw, without_proof
        );
        let client_signature = hmac::sign(
            &hmac::Key::new(hash.hmac(), stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted_key, b"Server Key");
        let server_signature = hmac::sign(
            &hmac::Key::new(hash.hmac(), server_key.as_ref()),
            auth_message.as_bytes(),
        );
        self.state = State::SentFinal {
            server_signature: server_signature.as_ref().to_vec(),
        };
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
    }

    /// Takes the server-final message: `v=SIGNATURE` must match what the password gives.
    pub fn server_final(&mut self, message: &[u8]) -> Result<(), SaslFailure> {
        let State::SentFinal { server_signature } = &self.state else {
            return Err(self.fail("server-final message out of order"));
        };
        let expected = server_signature.clone();
        let text = std::str::from_utf8(message)
            .map_err(|_| SaslFailure::new("server-final message is not UTF-8"));
        let result = text.and_then(|text| {
            if let Some(error) = text.strip_prefix("e=") {
                return Err(SaslFailure::new(format!("the server reports: {error}")));
            }
            let signature = attribute(text, 'v')
                .ok_or_else(|| SaslFailure::new("server-final message has no signature (v=)"))?;
            let signature = BASE64
                .decode(signature)
                .map_err(|_| SaslFailure::new("server signature is not base64"))?;
            if aws_lc_rs::constant_time::verify_slices_are_equal(&signature, &expected).is_err() {
                return Err(SaslFailure::new(
                    "the server's signature is wrong: it does not know the password",
                ));
            }
            Ok(())
        });
        self.state = if result.is_ok() {
            State::Done
        } else {
            State::Failed
        };
        result
    }

    /// Whether the next server message is server-first (the client-first has been sent and
    /// nothing answered yet).
    pub fn server_first_pending(&self) -> bool {
        matches!(self.state, State::SentFirst)
    }

    /// Whether the server has been verified.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn fail(&mut self, why: &str) -> SaslFailure {
        self.state = State::Failed;
        SaslFailure::new(why)
    }
}

/// The parts of a server-first message.
struct ServerFirst<'a> {
    raw: &'a str,
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

fn parse_server_first<'a>(message: &'a [u8], ours: &str) -> Result<ServerFirst<'a>, SaslFailure> {
    let raw = std::str::from_utf8(message)
        .map_err(|_| SaslFailure::new("server-first message is not UTF-8"))?;
    if raw.starts_with("m=") {
        return Err(SaslFailure::new(
            "server-first message requires an extension this client does not know",
        ));
    }
    if let Some(error) = raw.strip_prefix("e=") {
        return Err(SaslFailure::new(format!("the server reports: {error}")));
    }
    let nonce = attribute(raw, 'r').ok_or_else(|| SaslFailure::new("server-first has no nonce"))?;
    if !nonce.starts_with(ours) || nonce.len() == ours.len() {
        return Err(SaslFailure::new(
            "the server's nonce does not extend the client's",
        ));
    }
    if !nonce
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
    {
        return Err(SaslFailure::new(
            "the server's nonce has invalid characters",
        ));
    }
    let salt = attribute(raw, 's').ok_or_else(|| SaslFailure::new("server-first has no salt"))?;
    let salt = BASE64
        .decode(salt)
        .map_err(|_| SaslFailure::new("the server's salt is not base64"))?;
    if salt.is_empty() {
        return Err(SaslFailure::new("the server's salt is empty"));
    }
    let iterations = attribute(raw, 'i')
        .ok_or_else(|| SaslFailure::new("server-first has no iteration count"))?;
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| SaslFailure::new(format!("bad iteration count '{iterations}'")))?;
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(SaslFailure::new(format!(
            "iteration count {iterations} is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}"
        )));
    }
    Ok(ServerFirst {
        raw,
        nonce,
        salt,
        iterations,
    })
}

/// The value of attribute `name` (`name=value`) in a comma-separated SCRAM message.
fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(name) && chars.next() == Some('=')).then(|| &part[2..])
    })
}

/// RFC 5802's saslname: `=` and `,` escaped.
fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn rfc7677_sha256_vector() {
        let mut client = ScramClient::with_nonce(
            ScramHash::Sha256,
            "user",
            Secret::new("pencil"),
            "rOprNGfwEbeRWgbNEkqO".into(),
        );
        assert_eq!(
            client.client_first().unwrap(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            String::from_utf8(client.server_first(server_first).unwrap()).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(client.is_done());
    }

    fn started(hash: ScramHash) -> ScramClient {
        let mut c = ScramClient::with_nonce(hash, "alice", Secret::new("pw"), "abc".into());
        c.client_first().unwrap();
        c
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        let mut c = started(ScramHash::Sha512);
        c.server_first(b"r=abcdef,s=c2FsdA==,i=4096").unwrap();
        let err = c.server_final(b"v=AAAA").unwrap_err();
        assert!(err.message.contains("does not know the password"), "{err}");
        assert!(!c.is_done());
        // Nothing more is accepted after a failure.
        assert!(c.server_final(b"v=AAAA").is_err());
    }

    #[test]
    fn hostile_server_first_messages_are_errors() {
        for (message, expect) in [
            (&b"r=xyz,s=c2FsdA==,i=4096"[..], "does not extend"),
            (b"r=abc,s=c2FsdA==,i=4096", "does not extend"),
            (b"r=abcd,s=!!!,i=4096", "not base64"),
            (b"r=abcd,s=c2FsdA==,i=1", "outside"),
            (b"r=abcd,s=c2FsdA==,i=4294967295", "outside"),
            (b"r=abcd,s=c2FsdA==,i=many", "bad iteration"),
            (b"r=abcd,s=c2FsdA==", "no iteration"),
            (b"r=abcd,i=4096", "no salt"),
            (b"s=c2FsdA==,i=4096", "no nonce"),
            (b"m=ext,r=abcd,s=c2FsdA==,i=4096", "extension"),
            (b"e=unknown-user", "unknown-user"),
            (b"\xff\xfe", "UTF-8"),
            (b"", "no nonce"),
        ] {
            let mut c = started(ScramHash::Sha256);
            let err = c.server_first(message).unwrap_err();
            assert!(err.message.contains(expect), "{message:?}: {err}");
        }
    }

    #[test]
    fn messages_out_of_order_are_errors() {
        let mut c = ScramClient::with_nonce(ScramHash::Sha256, "u", Secret::new("p"), "n".into());
        assert!(c.server_first(b"r=nn,s=c2FsdA==,i=4096").is_err());
        let mut c = started(ScramHash::Sha256);
        assert!(c.server_final(b"v=AAAA").is_err());
    }

    #[test]
    fn names_are_escaped() {
        let mut c =
            ScramClient::with_nonce(ScramHash::Sha256, "a=b,c", Secret::new("p"), "n".into());
        assert_eq!(c.client_first().unwrap(), b"n,,n=a=3Db=2Cc,r=n");
    }
}
