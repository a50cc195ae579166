//! The translation of [`TlsConfig`] into one shared `rustls::ClientConfig` (the `tls`
//! feature): trust roots, the client identity (with encrypted PKCS#8 keys), the verifier for
//! hostname verification off, and rustls' failures explained in a user's words.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::{PemSource, TlsConfig, TlsSetupError};
use crate::security::Secret;

impl PemSource {
    fn read(&self, what: &'static str) -> Result<Vec<u8>, TlsSetupError> {
        match self {
            Self::File(path) => std::fs::read(path).map_err(|e| TlsSetupError {
                setting: what,
                reason: format!("cannot read {}: {e}", path.display()),
            }),
            Self::Inline(pem) => Ok(pem.expose().as_bytes().to_vec()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Inline(_) => "the inline PEM".to_owned(),
        }
    }
}

impl TlsConfig {
    /// Builds the rustls configuration all connections of a client share.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = Arc::new(self.roots()?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsSetupError {
                setting: "ssl.ca.location",
                reason: format!("cannot build a certificate verifier: {e}"),
            })?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsSetupError {
                setting: "ssl.protocol",
                reason: e.to_string(),
            })?;
        let builder = if self.verify_hostname {
            builder.with_webpki_verifier(webpki)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier { inner: webpki }))
        };
        let config = match (&self.certificate, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certificates(cert, "ssl.certificate.location")?;
                let key_der = self.read_key(key)?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| TlsSetupError {
                        setting: "ssl.key.location",
                        reason: format!("the key does not fit the certificate: {e}"),
                    })?
            }
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => {
                return Err(TlsSetupError {
                    setting: "ssl.key.location",
                    reason: "a client certificate needs its private key".into(),
                });
            }
            (None, Some(_)) => {
                return Err(TlsSetupError {
                    setting: "ssl.certificate.location",
                    reason: "a client key needs its certificate".into(),
                });
            }
        };
        Ok(Arc::new(config))
    }

    fn roots(&self) -> Result<RootCertStore, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some(source) => {
                for cert in read_certificates(source, "ssl.ca.location")? {
                    roots.add(cert).map_err(|e| TlsSetupError {
                        setting: "ssl.ca.location",
                        reason: format!("{}: not a usable CA certificate: {e}", source.describe()),
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(TlsSetupError {
                        setting: "ssl.ca.location",
                        reason: "the system's certificate store has no usable CA certificate; \
                                 install one or set ssl.ca.location"
                            .into(),
                    });
                }
            }
        }
        Ok(roots)
    }

    fn read_key(&self, source: &PemSource) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
        let pem = source.read("ssl.key.location")?;
        if let Some(encrypted) = pem_block(&pem, "ENCRYPTED PRIVATE KEY") {
            let password = self.key_password.as_ref().ok_or_else(|| TlsSetupError {
                setting: "ssl.key.password",
                reason: format!(
                    "{}: the key is encrypted; set its password",
                    source.describe()
                ),
            })?;
            return decrypt_key(&encrypted, password);
        }
        // As librdkafka and Java, a password given for a key that is not encrypted is unused.
        PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsSetupError {
            setting: "ssl.key.location",
            reason: format!("{}: no private key found: {e}", source.describe()),
        })
    }
}

/// The DER bytes of the first PEM block labelled `label` in `pem`, if there is one.
fn pem_block(pem: &[u8], label: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Decrypts an encrypted PKCS#8 key (PBES2: PBKDF2 or scrypt, AES-CBC), as OpenSSL's
/// `openssl pkcs8 -topk8 -v2 aes-256-cbc` and Java's tools write them.
fn decrypt_key(der: &[u8], password: &Secret) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der).map_err(|e| TlsSetupError {
        setting: "ssl.key.location",
        reason: format!("not a readable encrypted PKCS#8 key: {e}"),
    })?;
    let plain = info.decrypt(password.expose()).map_err(|_| TlsSetupError {
        setting: "ssl.key.password",
        reason: "cannot decrypt the private key: wrong password, or an encryption scheme other than PBES2 with AES-CBC".into(),
    })?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

fn read_certificates(
    source: &PemSource,
    setting: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = source.read(setting)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError {
            setting,
            reason: format!("{}: bad PEM: {e}", source.describe()),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError {
            setting,
            reason: format!("{}: no certificate in it", source.describe()),
        });
    }
    Ok(certs)
}

/// Verifies the chain as webpki does and accepts a certificate for another name: what Java does
/// with endpoint identification off.
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Explains a rustls failure in the words a user acts on.
pub(crate) fn describe_tls_error(error: &rustls::Error, host: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "the broker's certificate is not signed by a trusted CA (set ssl.ca.location to the CA that signed it)".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the broker's certificate is not valid for host '{host}' (hostname verification; ssl.endpoint.identification.algorithm)"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the broker's certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the broker's certificate is not valid yet".to_owned()
            }
            CertificateError::Revoked => "the broker's certificate is revoked".to_owned(),
            CertificateError::BadSignature => {
                "the broker's certificate has a bad signature (signed by another CA with the same name as a trusted one?)".to_owned()
            }
            other => format!("the broker's certificate was refused: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!(
                "the broker ended the TLS handshake with alert {alert:?} (a required client certificate missing or refused?)"
            )
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("the broker did not speak TLS ({error}); is the port a plaintext listener?")
        }
        other => other.to_string(),
    }
}

/// The name a TLS connection to `addr` (`host:port`) verifies: a DNS name, or an IP address.
pub(crate) fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = host_of(addr);
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("'{host}' is not a valid TLS server name: {e}"))
}

/// The host part of `host:port` (brackets removed from an IPv6 literal).
pub(crate) fn host_of(addr: &str) -> &str {
    let host = match addr.rfind(':') {
        Some(colon) if !addr[..colon].ends_with(':') || addr.starts_with('[') => &addr[..colon],
        _ => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_split_from_the_port() {
        assert_eq!(host_of("broker-1.example.com:9093"), "broker-1.example.com");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
    }

    #[test]
    fn server_names_are_ip_addresses_or_dns_names() {
        assert!(matches!(
            server_name("127.0.0.1:1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("localhost:1"),
            Ok(ServerName::DnsName(_))
        ));
    }

    #[test]
    fn bad_pem_names_the_setting() {
        let tls = TlsConfig::default().with_ca(PemSource::inline("not a pem"));
        let err = tls.client_config().unwrap_err();
        assert_eq!(err.setting, "ssl.ca.location");
        let tls = TlsConfig::default().with_ca(PemSource::file("/nonexistent/ca.pem"));
        assert!(
            tls.client_config()
                .unwrap_err()
                .reason
                .contains("/nonexistent/ca.pem")
        );
    }
}
