//! [`TestPki`]: a certificate authority, a server certificate and a client certificate made at
//! run time (rcgen), for TLS tests and for `krafka broker --tls-dir`. Nothing here is fit for
//! production: keys are fresh per run and kept in memory or in the directory given.

use std::io;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// PEM texts of a test CA and the certificates it signed.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate (what clients trust: `ssl.ca.location`).
    pub ca_pem: String,
    /// The CA's name and key, kept to sign more certificates.
    ca_name: String,
    ca_key_pem: String,
    /// The broker's certificate, for `localhost`, `127.0.0.1` and `::1` (and any extra names).
    pub server_cert_pem: String,
    /// The broker's key.
    pub server_key_pem: String,
    /// A client certificate for mutual TLS (CN `krafka-client`).
    pub client_cert_pem: String,
    /// Its key.
    pub client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

/// The files [`TestPki::write`] writes, by name.
pub const FILES: [&str; 5] = [
    "ca.pem",
    "server.pem",
    "server.key",
    "client.pem",
    "client.key",
];

fn error(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("cannot make a test certificate: {e}"))
}

/// Which certificate to make.
enum Role<'a> {
    Server { names: &'a [&'a str], expired: bool },
    Client { name: &'a str },
}

impl TestPki {
    /// A fresh CA with a server certificate for the loopback names and a client certificate.
    pub fn generate() -> io::Result<Self> {
        Self::generate_for(&[])
    }

    /// Like [`generate`](Self::generate), with more host names on the server certificate.
    pub fn generate_for(extra_server_names: &[&str]) -> io::Result<Self> {
        let ca_key = KeyPair::generate().map_err(error)?;
        // A name of its own, so two test CAs are never mistaken for each other.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let ca_name = format!("krafka test CA {nanos:x}");
        let ca_params = ca_params(&ca_name)?;
        let ca = ca_params.self_signed(&ca_key).map_err(error)?;
        let mut names = vec!["localhost", "127.0.0.1", "::1"];
        names.extend_from_slice(extra_server_names);
        let issuer = Issuer::new(ca_params, &ca_key);
        let (server_cert_pem, server_key_pem) = sign(
            &issuer,
            Role::Server {
                names: &names,
                expired: false,
            },
        )?;
        let (client_cert_pem, client_key_pem) = sign(
            &issuer,
            Role::Client {
                name: "krafka-client",
            },
        )?;
        Ok(Self {
            ca_pem: ca.pem(),
            ca_name,
            ca_key_pem: ca_key.serialize_pem(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        })
    }

    /// The same CA and client, with a server certificate for other names only (for
    /// hostname-verification tests) or one that has expired.
    pub fn with_server(&self, names: &[&str], expired: bool) -> io::Result<Self> {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).map_err(error)?;
        let issuer = Issuer::new(ca_params(&self.ca_name)?, &ca_key);
        let (server_cert_pem, server_key_pem) = sign(&issuer, Role::Server { names, expired })?;
        Ok(Self {
            server_cert_pem,
            server_key_pem,
            ..self.clone()
        })
    }

    /// Loads the files of [`FILES`] from `dir`, first writing a fresh set there if any is
    /// missing (what `krafka broker --tls-dir` does). The CA's key is not written, so a loaded
    /// set cannot sign more certificates.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        if FILES.iter().any(|f| !dir.join(f).exists()) {
            let pki = Self::generate()?;
            pki.write(dir)?;
            return Ok(pki);
        }
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.join(name).display())))
        };
        Ok(Self {
            ca_pem: read("ca.pem")?,
            ca_name: String::new(),
            ca_key_pem: String::new(),
            server_cert_pem: read("server.pem")?,
            server_key_pem: read("server.key")?,
            client_cert_pem: read("client.pem")?,
            client_key_pem: read("client.key")?,
        })
    }

    /// Writes `ca.pem`, `server.pem`, `server.key`, `client.pem` and `client.key` into `dir`
    /// (created if needed); the keys readable by the owner only.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let texts = [
            &self.ca_pem,
            &self.server_cert_pem,
            &self.server_key_pem,
            &self.client_cert_pem,
            &self.client_key_pem,
        ];
        for (name, text) in FILES.iter().zip(texts) {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            #[cfg(unix)]
            if name.ends_with(".key") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(())
    }
}

fn ca_params(name: &str) -> io::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn sign(issuer: &Issuer<'_, &KeyPair>, role: Role<'_>) -> io::Result<(String, String)> {
    let key = KeyPair::generate().map_err(error)?;
    let mut params = match role {
        Role::Server { names, expired } => {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let mut params = CertificateParams::new(names).map_err(error)?;
            params
                .distinguished_name
                .push(DnType::CommonName, "krafka-mock");
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            if expired {
                params.not_before = date_time_ymd(2000, 1, 1);
                params.not_after = date_time_ymd(2001, 1, 1);
            }
            params
        }
        Role::Client { name } => {
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(error)?;
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params
        }
    };
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let cert = params.signed_by(&key, issuer).map_err(error)?;
    Ok((cert.pem(), key.serialize_pem()))
}
