//! How the mock's listeners are secured, as a Kafka broker's are: TLS ([`MockTls`], a rustls
//! server with the run-time [`pki::TestPki`]), SASL ([`MockSasl`]: PLAIN, SCRAM-SHA-256/512 and
//! OAUTHBEARER with users per cluster, an optional session lifetime for KIP-368), or both.
//!
//! The rules are Kafka's: on a SASL listener only ApiVersions, SaslHandshake and
//! SaslAuthenticate are served before authentication (anything else closes the connection);
//! a failed authentication answers SASL_AUTHENTICATION_FAILED with a message and closes; a
//! session past its lifetime is closed at its next request unless re-authenticated.

pub mod pki;
pub(crate) mod sasl;
mod scram;

use std::sync::Arc;

pub use pki::TestPki;
pub use sasl::{MockSasl, SaslMechanismName};

/// TLS on the mock's listeners.
#[derive(Debug, Clone)]
pub struct MockTls {
    pki: TestPki,
    require_client_cert: bool,
}

impl MockTls {
    /// Serve with `pki`'s server certificate.
    pub fn new(pki: TestPki) -> Self {
        Self {
            pki,
            require_client_cert: false,
        }
    }

    /// Require a client certificate signed by the PKI's CA (Kafka's `ssl.client.auth=required`).
    pub fn require_client_cert(mut self, required: bool) -> Self {
        self.require_client_cert = required;
        self
    }

    /// The PKI, for the client side of a test.
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    pub(crate) fn server_config(&self) -> std::io::Result<Arc<rustls::ServerConfig>> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{what}: {e}"))
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = CertificateDer::pem_slice_iter(self.pki.server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("server certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(self.pki.server_key_pem.as_bytes())
            .map_err(|e| bad("server key", &e))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS versions", &e))?;
        let builder = if self.require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(self.pki.ca_pem.as_bytes()) {
                roots
                    .add(ca.map_err(|e| bad("CA certificate", &e))?)
                    .map_err(|e| bad("CA certificate", &e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| bad("client verifier", &e))?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| bad("server certificate", &e))?;
        Ok(Arc::new(config))
    }
}

/// A listener's security, shared by every connection of a cluster.
#[derive(Clone, Default)]
pub(crate) struct ListenerSecurity {
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) sasl: Option<Arc<sasl::SaslServer>>,
}

impl std::fmt::Debug for ListenerSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerSecurity")
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

impl ListenerSecurity {
    pub(crate) fn new(tls: Option<&MockTls>, sasl: Option<&MockSasl>) -> std::io::Result<Self> {
        let tls = match tls {
            Some(tls) => Some(tokio_rustls::TlsAcceptor::from(tls.server_config()?)),
            None => None,
        };
        let sasl = sasl.map(|s| Arc::new(sasl::SaslServer::new(s)));
        Ok(Self { tls, sasl })
    }
}
