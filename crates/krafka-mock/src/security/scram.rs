//! The server side of SCRAM-SHA-256/512 (RFC 5802), written apart from the client's so the
//! mock checks clients rather than agreeing with them: stored credentials (salt, iterations,
//! StoredKey, ServerKey) and the two server messages.

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Iterations the mock stores credentials with (Kafka's minimum and usual value).
const ITERATIONS: u32 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

/// What a broker stores for a SCRAM user: never the password.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl Credential {
    pub(crate) fn new(hash: Hash, password: &str, salt: Vec<u8>) -> Self {
        let mut salted = vec![0u8; hash.digest().output_len()];
        let iterations = std::num::NonZeroU32::new(ITERATIONS).unwrap_or(std::num::NonZeroU32::MIN);
        let algorithm = match hash {
            Hash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Hash::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        };
        pbkdf2::derive(
            algorithm,
            iterations,
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let key = hmac::Key::new(hash.hmac(), &salted);
        let client_key = hmac::sign(&key, b"Client Key");
        let stored_key = digest::digest(hash.digest(), client_key.as_ref());
        let server_key = hmac::sign(&key, b"Server Key");
        Self {
            salt,
            stored_key: stored_key.as_ref().to_vec(),
            server_key: server_key.as_ref().to_vec(),
        }
    }
}

/// An exchange after the client-first message.
#[derive(Debug)]
pub(crate) struct Exchange {
    hash: Hash,
    pub(crate) user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// The user named in a client-first message, unescaped.
pub(crate) fn client_first(hash: Hash, message: &[u8]) -> Result<Exchange, String> {
    let text = std::str::from_utf8(message).map_err(|_| "client-first is not UTF-8")?;
    // gs2-header: "n," or "y," (no channel binding), optional "a=authzid", then ",".
    let (flag, rest) = text.split_once(',').ok_or("no gs2 header")?;
    if flag != "n" && flag != "y" {
        return Err("channel binding is not supported".into());
    }
    let (authzid, bare) = rest.split_once(',').ok_or("no gs2 header")?;
    let gs2_header = format!("{flag},{authzid},");
    let mut user = None;
    let mut nonce = None;
    for part in bare.split(',') {
        if let Some(v) = part.strip_prefix("n=") {
            user = Some(v.replace("=2C", ",").replace("=3D", "="));
        } else if let Some(v) = part.strip_prefix("r=") {
            nonce = Some(v.to_owned());
        }
    }
    let user = user.ok_or("client-first has no user")?;
    let nonce = nonce
        .filter(|n| !n.is_empty())
        .ok_or("client-first has no nonce")?;
    Ok(Exchange {
        hash,
        user,
        gs2_header,
        client_first_bare: bare.to_owned(),
        server_first: String::new(),
        nonce,
    })
}

impl Exchange {
    /// The server-first message for the user's credential; `server_nonce` extends the
    /// client's.
    pub(crate) fn server_first(&mut self, credential: &Credential, server_nonce: &str) -> Vec<u8> {
        self.nonce = format!("{}{server_nonce}", self.nonce);
        self.server_first = format!(
            "r={},s={},i={ITERATIONS}",
            self.nonce,
            BASE64.encode(&credential.salt)
        );
        self.server_first.clone().into_bytes()
    }

    /// Checks the client's proof; returns the server-final message (with a wrong signature
    /// when `forge`).
    pub(crate) fn client_final(
        &self,
        credential: &Credential,
        message: &[u8],
        forge: bool,
    ) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(message).map_err(|_| "client-final is not UTF-8")?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or("client-final has no proof")?;
        let mut binding = None;
        let mut nonce = None;
        for part in without_proof.split(',') {
            if let Some(v) = part.strip_prefix("c=") {
                binding = Some(v);
            } else if let Some(v) = part.strip_prefix("r=") {
                nonce = Some(v);
            }
        }
        if binding != Some(BASE64.encode(&self.gs2_header).as_str()) {
            return Err("channel binding does not match the gs2 header".into());
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err("nonce does not match".into());
        }
        let proof = BASE64.decode(proof).map_err(|_| "proof is not base64")?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let stored = hmac::Key::new(self.hash.hmac(), &credential.stored_key);
        let signature = hmac::sign(&stored, auth_message.as_bytes());
        if proof.len() != signature.as_ref().len() {
            return Err("proof has the wrong length".into());
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(signature.as_ref())
            .map(|(p, s)| p ^ s)
            .collect();
        let derived = digest::digest(self.hash.digest(), &client_key);
        if derived.as_ref() != credential.stored_key.as_slice() {
            return Err("invalid credentials".into());
        }
        let server = hmac::Key::new(self.hash.hmac(), &credential.server_key);
        let mut server_signature = hmac::sign(&server, auth_message.as_bytes())
            .as_ref()
            .to_vec();
        if forge {
            for b in &mut server_signature {
                *b ^= 0x5a;
            }
        }
        Ok(format!("v={}", BASE64.encode(server_signature)).into_bytes())
    }
}
