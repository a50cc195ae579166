//! The security keys of a properties file (`security.protocol`, `ssl.*`, `sasl.*`), in both
//! Java's and librdkafka's names, read into a [`SecurityConfig`]. Values of secret keys never
//! appear in an error.

use std::sync::Arc;
use std::time::Duration;

use krafka_net::security::sasl::jaas::{JaasConfig, LoginModule};
use krafka_net::security::{OidcConfig, StaticTokenProvider, TlsConfig};
use krafka_net::{PemSource, SaslConfig, SecurityConfig, SecurityProtocol};

use super::lookup::{Lookup, PropertyError};

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
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.extensions",
    "sasl.login.callback.handler.class",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "https.ca.location",
    "https.ca.pem",
];

/// Java's OIDC login callback handler, under its 3.1+ and earlier package names: the only
/// `sasl.login.callback.handler.class` Krafka has built in.
const OIDC_HANDLERS: [&str; 2] = [
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
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
        "sasl.client.callback.handler.class",
        "Java classes cannot be loaded",
    ),
];

fn error(key: &str, reason: impl Into<String>) -> PropertyError {
    PropertyError {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The security settings, or `None` when no security key is set (plaintext).
pub(super) fn read(props: &impl Lookup) -> Result<Option<SecurityConfig>, PropertyError> {
    if !KEYS.iter().any(|k| props.get(k).is_some()) {
        return Ok(None);
    }
    // Checked whatever the mechanism: a class Krafka cannot load is never silently ignored.
    if let Some(class) = props.get("sasl.login.callback.handler.class")
        && !OIDC_HANDLERS.contains(&class.trim())
    {
        return Err(error(
            "sasl.login.callback.handler.class",
            format!(
                "'{class}' cannot be loaded (Java classes); Krafka has only Kafka's OIDC handler built in ({})",
                OIDC_HANDLERS[0]
            ),
        ));
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
    props: &impl Lookup,
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
    props: &impl Lookup,
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

fn tls(props: &impl Lookup) -> Result<TlsConfig, PropertyError> {
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

fn sasl(props: &impl Lookup) -> Result<SaslConfig, PropertyError> {
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
            if props.get("sasl.oauthbearer.token.endpoint.url").is_some() {
                return oidc(props, OidcCredentials::Jaas(&jaas));
            }
            let principal = jaas
                .option("unsecuredLoginStringClaim_sub")
                .ok_or_else(|| {
                    error(
                        "sasl.jaas.config",
                        "OAuthBearerLoginModule needs sasl.oauthbearer.token.endpoint.url (OIDC), unsecuredLoginStringClaim_sub, or a token provider in code (SaslConfig::oauthbearer)",
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
        match props.get("sasl.oauthbearer.method") {
            Some(m) if m.eq_ignore_ascii_case("oidc") => {
                return oidc(props, OidcCredentials::Librdkafka);
            }
            Some(m) if m.eq_ignore_ascii_case("default") => {}
            None if props.get("sasl.oauthbearer.token.endpoint.url").is_some() => {
                return oidc(props, OidcCredentials::Librdkafka);
            }
            None => {}
            Some(other) => {
                return Err(error(
                    "sasl.oauthbearer.method",
                    format!("'{other}' is not supported (default or oidc)"),
                ));
            }
        }
        // librdkafka's unsecured tokens: sasl.oauthbearer.config=principal=NAME [lifeSeconds=N].
        let config = props.get("sasl.oauthbearer.config").ok_or_else(|| {
            error(
                key,
                "OAUTHBEARER needs sasl.oauthbearer.method=oidc with a token endpoint, a token provider in code (SaslConfig::oauthbearer), or sasl.oauthbearer.config=principal=NAME for unsecured tokens",
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

/// Where the OIDC client's id, secret, scope and extensions are written.
enum OidcCredentials<'a> {
    /// Java: `OAuthBearerLoginModule required clientId="…" clientSecret="…" scope="…"
    /// extension_NAME="…";`.
    Jaas(&'a JaasConfig),
    /// librdkafka: `sasl.oauthbearer.client.id`, `.client.secret`, `.scope`, `.extensions`
    /// (`NAME=VALUE,…`).
    Librdkafka,
}

fn millis(props: &impl Lookup, key: &str, default: u64) -> Result<Duration, PropertyError> {
    match props.get(key) {
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| error(key, "expected milliseconds")),
        None => Ok(Duration::from_millis(default)),
    }
}

/// KIP-768: an OIDC client-credentials token provider from the properties.
fn oidc(
    props: &impl Lookup,
    credentials: OidcCredentials<'_>,
) -> Result<SaslConfig, PropertyError> {
    oidc_provider(oidc_config(props, credentials)?)
}

/// The OIDC settings the properties give, checked.
fn oidc_config(
    props: &impl Lookup,
    credentials: OidcCredentials<'_>,
) -> Result<OidcConfig, PropertyError> {
    let url_key = "sasl.oauthbearer.token.endpoint.url";
    let url = props
        .get(url_key)
        .ok_or_else(|| error(url_key, "OIDC needs the token endpoint URL"))?;
    // A file endpoint (Java's) holds the token itself: no client credentials.
    let is_file = url.trim().to_ascii_lowercase().starts_with("file://");
    let missing = |key: &str, what: &str| {
        if is_file {
            Ok(String::new())
        } else {
            Err(error(key, format!("OIDC needs {what}")))
        }
    };
    let (id, secret, scope, extensions): (String, krafka_net::Secret, _, _) = match credentials {
        OidcCredentials::Jaas(jaas) => {
            let id = match jaas.option("clientId") {
                Some(id) => id.expose().to_owned(),
                None => missing("sasl.jaas.config", "clientId in OAuthBearerLoginModule")?,
            };
            let secret = match jaas.option("clientSecret") {
                Some(secret) => secret.clone(),
                None => {
                    missing("sasl.jaas.config", "clientSecret in OAuthBearerLoginModule")?.into()
                }
            };
            let extensions = jaas
                .options
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.strip_prefix("extension_")?.to_owned(),
                        v.expose().to_owned(),
                    ))
                })
                .collect();
            (
                id,
                secret,
                jaas.option("scope").map(|s| s.expose().to_owned()),
                extensions,
            )
        }
        OidcCredentials::Librdkafka => {
            let id = match props.get("sasl.oauthbearer.client.id") {
                Some(id) => id.to_owned(),
                None => missing("sasl.oauthbearer.client.id", "the client id")?,
            };
            let secret = match props.get("sasl.oauthbearer.client.secret") {
                Some(secret) => secret.to_owned(),
                None => missing("sasl.oauthbearer.client.secret", "the client secret")?,
            };
            let mut extensions = Vec::new();
            if let Some(list) = props.get("sasl.oauthbearer.extensions") {
                for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                    let (k, v) = pair.split_once('=').ok_or_else(|| {
                        error("sasl.oauthbearer.extensions", "expected NAME=VALUE,…")
                    })?;
                    extensions.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            (
                id,
                secret.into(),
                props.get("sasl.oauthbearer.scope").map(str::to_owned),
                extensions,
            )
        }
    };
    let mut config = OidcConfig::client_credentials(url, id, secret).with_retry_backoff(
        millis(props, "sasl.login.retry.backoff.ms", 100)?,
        millis(props, "sasl.login.retry.backoff.max.ms", 10_000)?,
    );
    config.connect_timeout = millis(props, "sasl.login.connect.timeout.ms", 10_000)?;
    config.read_timeout = millis(props, "sasl.login.read.timeout.ms", 10_000)?;
    if let Some(scope) = scope {
        config = config.with_scope(scope);
    }
    config.extensions = extensions;
    if let Some(ca) = one_source(
        props,
        &[("https.ca.location", true), ("https.ca.pem", false)],
    )? {
        config = config.with_tls(TlsConfig::default().with_ca(ca));
    }
    config.endpoint().map_err(|e| error(url_key, e.0))?;
    Ok(config)
}

#[cfg(feature = "oidc")]
fn oidc_provider(config: OidcConfig) -> Result<SaslConfig, PropertyError> {
    let provider = krafka_net::security::OidcTokenProvider::new(config)
        .map_err(|e| error("sasl.oauthbearer.token.endpoint.url", e.0))?;
    Ok(SaslConfig::oauthbearer(Arc::new(provider)))
}

#[cfg(not(feature = "oidc"))]
fn oidc_provider(_config: OidcConfig) -> Result<SaslConfig, PropertyError> {
    Err(error(
        "sasl.oauthbearer.token.endpoint.url",
        "this build of Krafka has no OIDC token endpoint client: enable the krafka crate's `oidc` feature",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::Properties;

    const JAVA: &str = "security.protocol=SASL_SSL\n\
        sasl.mechanism=OAUTHBEARER\n\
        sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n\
        sasl.oauthbearer.token.endpoint.url=https://idp.example/oauth2/token\n\
        sasl.login.retry.backoff.ms=50\n\
        sasl.login.read.timeout.ms=2000\n\
        sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \\\n\
        \x20 clientId=\"svc\" clientSecret=\"top-secret\" scope=\"kafka\" extension_logicalCluster=\"lkc-1\";\n";

    fn java_jaas(props: &impl Lookup) -> JaasConfig {
        JaasConfig::parse(props.get("sasl.jaas.config").unwrap()).unwrap()
    }

    #[test]
    fn java_oidc_settings_come_from_the_jaas_options() {
        let props = Properties::parse(JAVA).unwrap();
        let jaas = java_jaas(&props);
        let config = oidc_config(&props, OidcCredentials::Jaas(&jaas)).unwrap();
        assert_eq!(config.token_endpoint, "https://idp.example/oauth2/token");
        assert_eq!(config.client_id, "svc");
        assert_eq!(config.client_secret.expose(), "top-secret");
        assert_eq!(config.scope.as_deref(), Some("kafka"));
        assert_eq!(
            config.extensions,
            [("logicalCluster".into(), "lkc-1".into())]
        );
        assert_eq!(config.retry_backoff, Duration::from_millis(50));
        assert_eq!(config.retry_backoff_max, Duration::from_secs(10));
        assert_eq!(config.read_timeout, Duration::from_secs(2));
        assert!(!format!("{config:?}").contains("top-secret"));
    }

    #[test]
    fn librdkafka_oidc_settings_come_from_their_own_keys() {
        let props = Properties::parse(
            "security.protocol=SASL_SSL\nsasl.mechanisms=OAUTHBEARER\nsasl.oauthbearer.method=oidc\n\
             sasl.oauthbearer.token.endpoint.url=https://idp/t\nsasl.oauthbearer.client.id=c\n\
             sasl.oauthbearer.client.secret=s\nsasl.oauthbearer.scope=a b\n\
             sasl.oauthbearer.extensions=logicalCluster=lkc-1,identityPoolId=pool-2\n",
        )
        .unwrap();
        let config = oidc_config(&props, OidcCredentials::Librdkafka).unwrap();
        assert_eq!(config.client_id, "c");
        assert_eq!(config.scope.as_deref(), Some("a b"));
        assert_eq!(
            config.extensions,
            [
                ("logicalCluster".into(), "lkc-1".into()),
                ("identityPoolId".into(), "pool-2".into())
            ]
        );
    }

    #[test]
    fn oidc_mistakes_name_the_key() {
        let err = |text: &str| Properties::parse(text).unwrap().connection().unwrap_err();
        let base = "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\n";
        let e = err(&format!(
            "{base}sasl.oauthbearer.method=oidc\nsasl.oauthbearer.client.id=c\nsasl.oauthbearer.client.secret=s\n"
        ));
        assert_eq!(e.key, "sasl.oauthbearer.token.endpoint.url");
        let e = err(&format!(
            "{base}sasl.oauthbearer.method=oidc\nsasl.oauthbearer.token.endpoint.url=https://idp/t\nsasl.oauthbearer.client.secret=hidden\n"
        ));
        assert_eq!(e.key, "sasl.oauthbearer.client.id");
        assert!(!e.reason.contains("hidden"));
        let e = err(&format!("{base}sasl.oauthbearer.method=magic\n"));
        assert_eq!(e.key, "sasl.oauthbearer.method");
        let e = err(&JAVA.replace(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
            "com.example.MyHandler",
        ));
        assert_eq!(e.key, "sasl.login.callback.handler.class");
        assert!(e.reason.contains("com.example.MyHandler"));
        // Also with a mechanism that never calls a login handler.
        let e = err(
            "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\n\
             sasl.login.callback.handler.class=com.example.MyHandler\n",
        );
        assert_eq!(e.key, "sasl.login.callback.handler.class");
        let e = err(&JAVA.replace("https://idp.example", "https://u:pw@idp.example"));
        assert_eq!(e.key, "sasl.oauthbearer.token.endpoint.url");
        assert!(!e.reason.contains("pw"));
        let e = err(&JAVA.replace("clientId=\"svc\" ", ""));
        assert_eq!(e.key, "sasl.jaas.config");
        // A file endpoint needs no client credentials.
        let props = Properties::parse(&format!(
            "{base}sasl.oauthbearer.method=oidc\nsasl.oauthbearer.token.endpoint.url=file:///run/token\n"
        ))
        .unwrap();
        assert!(oidc_config(&props, OidcCredentials::Librdkafka).is_ok());
    }

    #[cfg(not(feature = "oidc"))]
    #[test]
    fn without_the_feature_oidc_is_a_clear_error() {
        let e = Properties::parse(JAVA).unwrap().connection().unwrap_err();
        assert!(e.reason.contains("`oidc` feature"), "{e}");
    }

    #[cfg(feature = "oidc")]
    #[test]
    fn with_the_feature_the_properties_build_an_oidc_login() {
        let props = Properties::parse(JAVA).unwrap();
        let c = props.connection().unwrap();
        let sasl = c.peek().security.sasl.as_ref().unwrap();
        assert_eq!(sasl.mechanism.name(), "OAUTHBEARER");
        assert!(format!("{sasl:?}").contains("OidcTokenProvider"));
        assert!(!format!("{c:?}").contains("top-secret"));
    }
}
