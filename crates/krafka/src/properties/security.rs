//! The security keys of a properties file (`security.protocol`, `ssl.*`, `sasl.*`), in both
//! Java's and librdkafka's names, read into a [`SecurityConfig`]. Values of secret keys never
//! appear in an error.

use std::sync::Arc;
use std::time::Duration;

use krafka_net::security::sasl::jaas::{JaasConfig, LoginModule};
use krafka_net::security::{StaticTokenProvider, TlsConfig};
use krafka_net::{PemSource, SaslConfig, SecurityConfig, SecurityProtocol};

use super::{Properties, PropertyError};

/// The keys read here, all accepted by every client.
pub(super) const KEYS: &[&str] = &[
    "security.protocol",
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "sasl.jaas.config",
    "sasl.oauthbearer.config",
];

/// Java keys Krafka refuses, with the reason it gives.
pub(super) const REFUSED: &[(&str, &str)] = &[
    (
        "ssl.truststore.password",
        "Krafka reads PEM trust stores, which have no password (convert a JKS store: keytool -exportcert -rfc)",
    ),
    (
        "ssl.keystore.password",
        "Krafka reads PEM key stores, which have no store password; an encrypted key's password is ssl.key.password",
    ),
    (
        "sasl.kerberos.service.name",
        "GSSAPI (Kerberos) is not supported",
    ),
    (
        "sasl.login.callback.handler.class",
        "Java classes cannot be loaded; give an OAUTHBEARER token provider in code (SaslConfig::oauthbearer)",
    ),
    (
        "sasl.client.callback.handler.class",
        "Java classes cannot be loaded",
    ),
    (
        "sasl.oauthbearer.token.endpoint.url",
        "the OIDC token endpoint is not built into this Krafka; give a token provider in code (SaslConfig::oauthbearer)",
    ),
    (
        "sasl.oauthbearer.method",
        "the OIDC token endpoint is not built into this Krafka; give a token provider in code (SaslConfig::oauthbearer)",
    ),
];

fn error(key: &str, reason: impl Into<String>) -> PropertyError {
    PropertyError {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The security settings, or `None` when no security key is set (plaintext).
pub(super) fn read(props: &Properties) -> Result<Option<SecurityConfig>, PropertyError> {
    if !KEYS.iter().any(|k| props.get(k).is_some()) {
        return Ok(None);
    }
    let protocol = match props.get("security.protocol") {
        Some(v) => v
            .parse::<SecurityProtocol>()
            .map_err(|e| error("security.protocol", e.to_string()))?,
        None => SecurityProtocol::Plaintext,
    };
    let tls = tls(props)?;
    let sasl = if protocol.uses_sasl() {
        Some(sasl(props)?)
    } else {
        None
    };
    Ok(Some(SecurityConfig {
        protocol,
        tls,
        sasl,
    }))
}

/// The one source set among `(key, is_file)` pairs, or an error if two are.
fn one_source(
    props: &Properties,
    keys: &[(&'static str, bool)],
) -> Result<Option<PemSource>, PropertyError> {
    let mut found: Option<(&str, PemSource)> = None;
    for &(key, is_file) in keys {
        let Some(value) = props.get(key) else {
            continue;
        };
        if let Some((other, _)) = &found {
            return Err(error(key, format!("set together with {other}; keep one")));
        }
        let source = if is_file {
            PemSource::file(value)
        } else {
            PemSource::inline(value)
        };
        found = Some((key, source));
    }
    Ok(found.map(|(_, s)| s))
}

fn require_pem(
    props: &Properties,
    type_key: &str,
    location_key: &str,
) -> Result<(), PropertyError> {
    match props.get(type_key) {
        Some(t) if t.eq_ignore_ascii_case("PEM") => Ok(()),
        Some(t) => Err(error(
            type_key,
            format!(
                "'{t}' is not supported: Krafka reads PEM only (convert with keytool and openssl)"
            ),
        )),
        None if props.get(location_key).is_some() => Err(error(
            type_key,
            format!("{location_key} needs {type_key}=PEM (Java's default JKS is not supported)"),
        )),
        None => Ok(()),
    }
}

fn tls(props: &Properties) -> Result<TlsConfig, PropertyError> {
    require_pem(props, "ssl.truststore.type", "ssl.truststore.location")?;
    require_pem(props, "ssl.keystore.type", "ssl.keystore.location")?;
    let ca = one_source(
        props,
        &[
            ("ssl.ca.location", true),
            ("ssl.ca.pem", false),
            ("ssl.truststore.location", true),
            ("ssl.truststore.certificates", false),
        ],
    )?;
    // Java's PEM key store: one file with the chain and the key, or both inline.
    let keystore_file = props.get("ssl.keystore.location").map(PemSource::file);
    let certificate = match one_source(
        props,
        &[
            ("ssl.certificate.location", true),
            ("ssl.certificate.pem", false),
            ("ssl.keystore.certificate.chain", false),
        ],
    )? {
        Some(c) => Some(c),
        None => keystore_file.clone(),
    };
    let key = match one_source(
        props,
        &[
            ("ssl.key.location", true),
            ("ssl.key.pem", false),
            ("ssl.keystore.key", false),
        ],
    )? {
        Some(k) => Some(k),
        None => keystore_file,
    };
    let verify_hostname = match props.get("ssl.endpoint.identification.algorithm") {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("https") => true,
        Some("") | Some("none") => false,
        Some(v) => {
            return Err(error(
                "ssl.endpoint.identification.algorithm",
                format!("'{v}' is not supported (https, or empty to turn verification off)"),
            ));
        }
    };
    Ok(TlsConfig {
        ca,
        certificate,
        key,
        key_password: props.get("ssl.key.password").map(Into::into),
        verify_hostname,
    })
}

fn sasl(props: &Properties) -> Result<SaslConfig, PropertyError> {
    let mechanism = match (props.get("sasl.mechanism"), props.get("sasl.mechanisms")) {
        (Some(_), Some(_)) => {
            return Err(error(
                "sasl.mechanisms",
                "set together with sasl.mechanism; keep one",
            ));
        }
        (Some(m), None) => Some(("sasl.mechanism", m.trim().to_ascii_uppercase())),
        (None, Some(m)) => Some(("sasl.mechanisms", m.trim().to_ascii_uppercase())),
        (None, None) => None,
    };
    if let Some(jaas_text) = props.get("sasl.jaas.config") {
        let jaas = JaasConfig::parse(jaas_text).map_err(|e| error("sasl.jaas.config", e.0))?;
        // Without sasl.mechanism the login module decides (SCRAM: the stronger hash).
        let name = match (&mechanism, jaas.module) {
            (Some((_, m)), _) => m.clone(),
            (None, LoginModule::Plain) => "PLAIN".to_owned(),
            (None, LoginModule::Scram) => "SCRAM-SHA-512".to_owned(),
            (None, LoginModule::OAuthBearer) => "OAUTHBEARER".to_owned(),
        };
        let fits = match jaas.module {
            LoginModule::Plain => name == "PLAIN",
            LoginModule::Scram => name.starts_with("SCRAM-"),
            LoginModule::OAuthBearer => name == "OAUTHBEARER",
        };
        if !fits {
            return Err(error(
                "sasl.jaas.config",
                format!(
                    "its {:?} login module does not fit sasl.mechanism {name}",
                    jaas.module
                ),
            ));
        }
        if jaas.module == LoginModule::OAuthBearer {
            let principal = jaas
                .option("unsecuredLoginStringClaim_sub")
                .ok_or_else(|| {
                    error(
                        "sasl.jaas.config",
                        "OAuthBearerLoginModule without unsecuredLoginStringClaim_sub needs a token provider in code (SaslConfig::oauthbearer)",
                    )
                })?;
            let lifetime = match jaas.option("unsecuredLoginLifetimeSeconds") {
                Some(v) => v.expose().parse::<u64>().map_err(|_| {
                    error(
                        "sasl.jaas.config",
                        "unsecuredLoginLifetimeSeconds is not a number",
                    )
                })?,
                None => 3600,
            };
            return Ok(unsecured(principal.expose(), lifetime));
        }
        let (username, password) = jaas
            .credentials()
            .map_err(|e| error("sasl.jaas.config", e.0))?;
        return SaslConfig::from_name(&name, username, password)
            .map_err(|e| error("sasl.mechanism", e.message));
    }
    let Some((key, name)) = mechanism else {
        return Err(error(
            "sasl.mechanism",
            "security.protocol with SASL needs sasl.mechanism with sasl.username/sasl.password, or sasl.jaas.config",
        ));
    };
    if name == "OAUTHBEARER" {
        // librdkafka's unsecured tokens: sasl.oauthbearer.config=principal=NAME [lifeSeconds=N].
        let config = props.get("sasl.oauthbearer.config").ok_or_else(|| {
            error(
                key,
                "OAUTHBEARER needs a token provider in code (SaslConfig::oauthbearer) or sasl.oauthbearer.config=principal=NAME for unsecured tokens",
            )
        })?;
        let mut principal = None;
        let mut lifetime = 3600;
        for part in config.split_whitespace() {
            match part.split_once('=') {
                Some(("principal", p)) => principal = Some(p),
                Some(("lifeSeconds", s)) => {
                    lifetime = s.parse().map_err(|_| {
                        error("sasl.oauthbearer.config", "lifeSeconds is not a number")
                    })?;
                }
                _ => {
                    return Err(error(
                        "sasl.oauthbearer.config",
                        "expected principal=NAME [lifeSeconds=N]",
                    ));
                }
            }
        }
        let principal =
            principal.ok_or_else(|| error("sasl.oauthbearer.config", "expected principal=NAME"))?;
        return Ok(unsecured(principal, lifetime));
    }
    let username = props
        .get("sasl.username")
        .ok_or_else(|| error("sasl.username", format!("{name} needs a user name")))?;
    let password = props
        .get("sasl.password")
        .ok_or_else(|| error("sasl.password", format!("{name} needs a password")))?;
    SaslConfig::from_name(&name, username, password).map_err(|e| error(key, e.message))
}

fn unsecured(principal: &str, lifetime_seconds: u64) -> SaslConfig {
    SaslConfig::oauthbearer(Arc::new(StaticTokenProvider::unsecured(
        principal,
        Duration::from_secs(lifetime_seconds),
    )))
}
