//! [`TlsConfig`]: how a TLS connection trusts the broker and presents the client, and (with
//! the `tls` feature) its translation into one shared `rustls::ClientConfig` (built once per client, when the
//! connection settings are built, so a missing file is an error then, not at the first dial).
//!
//! Cryptography is rustls' default provider, aws-lc-rs (TLS 1.3 and 1.2, AES-GCM and
//! ChaCha20-Poly1305, the post-quantum hybrid key exchange preferred where the broker has it).
//!
//! Trust comes from the operating system's store by default (`rustls-native-certs`: the store
//! librdkafka and kcat use on Linux, so a company CA installed with `update-ca-certificates`
//! works as it does for them), or from a PEM bundle. Hostname verification is on unless
//! [`TlsConfig::verify_hostname`] is false (Java's `ssl.endpoint.identification.algorithm=`);
//! the chain is verified either way.

//!
//! The settings live here and are always built; their translation into rustls (`setup`) is
//! the `tls` feature's, so a build without it still parses `ssl.*` settings and refuses
//! `security.protocol=SSL` with a clear error.

#[cfg(feature = "tls")]
pub(crate) mod setup;

use std::fmt;
use std::path::PathBuf;

use super::Secret;

/// PEM text, from a file or inline.
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file holding PEM blocks (`ssl.ca.location`, `ssl.certificate.location`, …).
    File(PathBuf),
    /// The PEM text itself (`ssl.ca.pem`, `ssl.certificate.pem`, …). Held as a [`Secret`]
    /// because a private key may be given this way.
    Inline(Secret),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Inline(_) => f.write_str("Inline(..)"),
        }
    }
}

impl PemSource {
    /// A file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// Inline PEM text.
    pub fn inline(pem: impl Into<String>) -> Self {
        Self::Inline(Secret::new(pem))
    }
}

/// How TLS connections verify the broker and present the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificates to trust instead of the system's store (`ssl.ca.location` /
    /// `ssl.ca.pem`, Java's `ssl.truststore.location` with `ssl.truststore.type=PEM`).
    pub ca: Option<PemSource>,
    /// The client's certificate chain for mutual TLS (`ssl.certificate.location` /
    /// `ssl.certificate.pem`).
    pub certificate: Option<PemSource>,
    /// The client's private key (`ssl.key.location` / `ssl.key.pem`): PKCS#8, PKCS#1 or SEC1.
    pub key: Option<PemSource>,
    /// The password of an encrypted PKCS#8 key (`ssl.key.password`); unused for a key that
    /// is not encrypted.
    pub key_password: Option<Secret>,
    /// Whether the broker's certificate must name the host connected to (Java's
    /// `ssl.endpoint.identification.algorithm=https`, the default). Off, only the chain is
    /// verified, and a warning is logged once per client.
    pub verify_hostname: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            ca: None,
            certificate: None,
            key: None,
            key_password: None,
            verify_hostname: true,
        }
    }
}

/// A TLS setting that cannot be used, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSetupError {
    /// The setting, as Java names it (`ssl.ca.location`, …).
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for TlsSetupError {}

impl TlsConfig {
    /// Trust the CAs in `ca` (instead of the system's store).
    pub fn with_ca(mut self, ca: PemSource) -> Self {
        self.ca = Some(ca);
        self
    }

    /// Present `certificate` and `key` to the broker (mutual TLS).
    pub fn with_client_identity(mut self, certificate: PemSource, key: PemSource) -> Self {
        self.certificate = Some(certificate);
        self.key = Some(key);
        self
    }

    /// The password of an encrypted client key.
    pub fn with_key_password(mut self, password: impl Into<Secret>) -> Self {
        self.key_password = Some(password.into());
        self
    }

    /// Whether to check the broker's certificate against its host name.
    pub fn with_hostname_verification(mut self, verify: bool) -> Self {
        self.verify_hostname = verify;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_pem_is_not_printed() {
        let source = PemSource::inline("-----BEGIN PRIVATE KEY-----\nsecret");
        assert!(!format!("{source:?}").contains("secret"));
    }
}
