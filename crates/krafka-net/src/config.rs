//! `ConnectionConfig`: everything a broker connection is tuned by, with Kafka's Java client
//! defaults, validated once when built.

use std::fmt;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use crate::security::SecurityConfig;

/// A setting that `ConnectionConfigBuilder::build` refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The field, as named on the builder.
    pub field: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// How connections to brokers behave. Build one with [`ConnectionConfig::builder`].
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Requests that may wait in a connection's high-priority lane (heartbeats, metadata).
    pub high_priority_channel_capacity: usize,
    /// Requests that may wait in a connection's normal lane (produce, fetch, …).
    pub normal_priority_channel_capacity: usize,
    /// Connections opened to each broker (a bundle).
    pub connections_per_broker: usize,
    /// Requests sent on one connection before their responses arrive (Java's
    /// `max.in.flight.requests.per.connection`, 5).
    pub max_in_flight_requests: usize,
    /// How long a request may wait for its response (Java's `request.timeout.ms`, 30 s).
    pub request_timeout: Duration,
    /// How long a TCP connect plus the ApiVersions handshake may take (10 s).
    pub connect_timeout: Duration,
    /// The client id sent in every request header.
    pub client_id: String,
    /// Whether Nagle's algorithm is off (true: requests go out at once).
    pub tcp_nodelay: bool,
    /// The socket send buffer in bytes (Java's `send.buffer.bytes`, 128 KiB); `None` keeps the
    /// operating system's default.
    pub send_buffer_size: Option<usize>,
    /// The socket receive buffer in bytes (Java's `receive.buffer.bytes`, 64 KiB); `None` keeps
    /// the operating system's default.
    pub receive_buffer_size: Option<usize>,
    /// The largest response frame accepted (100 MiB, like the broker's own request limit).
    pub max_response_size: usize,
    /// The first reconnect delay (Java's `reconnect.backoff.ms`, 50 ms).
    pub reconnect_backoff: Duration,
    /// The largest reconnect delay (Java's `reconnect.backoff.max.ms`, 1 s).
    pub reconnect_backoff_max: Duration,
    /// Idle connections are closed after this long (Java's `connections.max.idle.ms`, 9 min).
    pub idle_timeout: Duration,
    /// TLS and SASL (plaintext by default).
    pub security: SecurityConfig,
    /// The rustls configuration every TLS connection shares, made from `security.tls` by
    /// [`ConnectionConfigBuilder::build`].
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
}

impl ConnectionConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> ConnectionConfigBuilder {
        ConnectionConfigBuilder {
            config: Self::defaults(),
        }
    }

    fn defaults() -> Self {
        Self {
            high_priority_channel_capacity: 64,
            normal_priority_channel_capacity: 256,
            connections_per_broker: 1,
            max_in_flight_requests: 5,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            client_id: "krafka".into(),
            tcp_nodelay: true,
            send_buffer_size: Some(128 * 1024),
            receive_buffer_size: Some(64 * 1024),
            max_response_size: krafka_protocol::frame::DEFAULT_MAX_FRAME_SIZE,
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(9 * 60),
            security: SecurityConfig::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The shared rustls configuration, when connections use TLS.
    #[cfg(feature = "tls")]
    pub fn tls_client_config(&self) -> Option<&Arc<rustls::ClientConfig>> {
        self.tls.as_ref()
    }
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self::defaults()
    }
}

/// Builds a [`ConnectionConfig`]; [`ConnectionConfigBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct ConnectionConfigBuilder {
    config: ConnectionConfig,
}

impl Default for ConnectionConfigBuilder {
    /// Starts from the defaults, as [`ConnectionConfig::builder`].
    fn default() -> Self {
        ConnectionConfig::builder()
    }
}

/// One builder method per plain field of the builder's `config`: the connection, producer and
/// consumer builders all write their setters with it. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! config_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$name = value;
                self
            }
        )*
    };
}

impl ConnectionConfigBuilder {
    config_setters! {
        /// See [`ConnectionConfig::high_priority_channel_capacity`].
        high_priority_channel_capacity: usize,
        /// See [`ConnectionConfig::normal_priority_channel_capacity`].
        normal_priority_channel_capacity: usize,
        /// See [`ConnectionConfig::connections_per_broker`].
        connections_per_broker: usize,
        /// See [`ConnectionConfig::max_in_flight_requests`].
        max_in_flight_requests: usize,
        /// See [`ConnectionConfig::request_timeout`].
        request_timeout: Duration,
        /// See [`ConnectionConfig::connect_timeout`].
        connect_timeout: Duration,
        /// See [`ConnectionConfig::tcp_nodelay`].
        tcp_nodelay: bool,
        /// See [`ConnectionConfig::send_buffer_size`].
        send_buffer_size: Option<usize>,
        /// See [`ConnectionConfig::receive_buffer_size`].
        receive_buffer_size: Option<usize>,
        /// See [`ConnectionConfig::max_response_size`].
        max_response_size: usize,
        /// See [`ConnectionConfig::reconnect_backoff`].
        reconnect_backoff: Duration,
        /// See [`ConnectionConfig::reconnect_backoff_max`].
        reconnect_backoff_max: Duration,
        /// See [`ConnectionConfig::idle_timeout`].
        idle_timeout: Duration,
    }

    /// See [`ConnectionConfig::security`].
    pub fn security(mut self, value: SecurityConfig) -> Self {
        self.config.security = value;
        self
    }

    /// The settings so far (unvalidated).
    pub fn peek(&self) -> &ConnectionConfig {
        &self.config
    }

    /// See [`ConnectionConfig::client_id`].
    pub fn client_id(mut self, value: impl Into<String>) -> Self {
        self.config.client_id = value.into();
        self
    }

    /// Checks every setting and returns the configuration, or the first invalid field. With
    /// TLS, reads the certificate files and builds the rustls configuration here, so a missing
    /// or bad file is an error now (naming the Java setting), not at the first connection.
    pub fn build(self) -> Result<ConnectionConfig, ConfigError> {
        let c = self.config;
        let fail = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_string(),
            })
        };
        let positive = [
            (
                "high_priority_channel_capacity",
                c.high_priority_channel_capacity,
            ),
            (
                "normal_priority_channel_capacity",
                c.normal_priority_channel_capacity,
            ),
            ("connections_per_broker", c.connections_per_broker),
            ("max_in_flight_requests", c.max_in_flight_requests),
        ];
        for (field, value) in positive {
            if value == 0 {
                return fail(field, "must be at least 1");
            }
        }
        let durations = [
            ("request_timeout", c.request_timeout),
            ("connect_timeout", c.connect_timeout),
            ("reconnect_backoff", c.reconnect_backoff),
            ("idle_timeout", c.idle_timeout),
        ];
        for (field, value) in durations {
            if value.is_zero() {
                return fail(field, "must be longer than zero");
            }
        }
        if c.reconnect_backoff_max < c.reconnect_backoff {
            return fail(
                "reconnect_backoff_max",
                "must not be shorter than reconnect_backoff",
            );
        }
        if c.max_response_size < 1024 {
            return fail("max_response_size", "must be at least 1 KiB");
        }
        if c.send_buffer_size == Some(0) || c.receive_buffer_size == Some(0) {
            let field = if c.send_buffer_size == Some(0) {
                "send_buffer_size"
            } else {
                "receive_buffer_size"
            };
            return fail(field, "must be positive (use None for the system default)");
        }
        // Kafka limits client ids to what fits an int16-length string.
        if c.client_id.len() > i16::MAX as usize {
            return fail("client_id", "is longer than 32767 bytes");
        }
        let protocol = c.security.protocol;
        if protocol.uses_sasl() && c.security.sasl.is_none() {
            return fail(
                "sasl.mechanism",
                &format!("security.protocol={protocol} needs a SASL mechanism and credentials"),
            );
        }
        #[cfg(not(feature = "tls"))]
        if protocol.uses_tls() {
            return fail(
                "security.protocol",
                &format!(
                    "{protocol} needs TLS, which this build leaves out (krafka-net's `tls` \
                     feature, on by default in the krafka facade)"
                ),
            );
        }
        #[cfg(not(feature = "tls"))]
        if let Some(sasl) = &c.security.sasl
            && matches!(sasl.mechanism, crate::security::SaslMechanism::Scram { .. })
        {
            return fail(
                "sasl.mechanism",
                &format!(
                    "{} needs HMAC and PBKDF2 from aws-lc-rs, which this build leaves out \
                     (krafka-net's `tls` feature, on by default in the krafka facade)",
                    sasl.mechanism.name()
                ),
            );
        }
        #[cfg(feature = "tls")]
        let c = {
            let mut c = c;
            c.tls = if protocol.uses_tls() {
                let tls = c.security.tls.client_config().map_err(|e| ConfigError {
                    field: e.setting,
                    reason: e.reason,
                })?;
                if !c.security.tls.verify_hostname {
                    tracing::warn!(
                        client_id = %c.client_id,
                        "TLS hostname verification is off (ssl.endpoint.identification.algorithm is empty): \
                         any certificate signed by a trusted CA is accepted for any broker"
                    );
                }
                Some(tls)
            } else {
                None
            };
            c
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_javas() {
        let c = ConnectionConfig::builder().build().unwrap();
        assert_eq!(
            (
                c.high_priority_channel_capacity,
                c.normal_priority_channel_capacity
            ),
            (64, 256)
        );
        assert_eq!((c.connections_per_broker, c.max_in_flight_requests), (1, 5));
        assert_eq!(
            (c.request_timeout, c.connect_timeout),
            (Duration::from_secs(30), Duration::from_secs(10))
        );
        assert_eq!(
            (c.reconnect_backoff, c.reconnect_backoff_max),
            (Duration::from_millis(50), Duration::from_secs(1))
        );
        assert!(c.tcp_nodelay);
        assert_eq!(
            c.security.protocol,
            crate::security::SecurityProtocol::Plaintext
        );
        #[cfg(feature = "tls")]
        assert!(c.tls_client_config().is_none());
    }

    /// `.ci/run` runs this in a build without the `tls` feature.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_tls_ssl_and_scram_are_refused_by_name() {
        use crate::security::{SaslConfig, SecurityConfig, TlsConfig};
        for security in [
            SecurityConfig::ssl(TlsConfig::default()),
            SecurityConfig::sasl_ssl(TlsConfig::default(), SaslConfig::plain("u", "p")),
        ] {
            let err = ConnectionConfig::builder()
                .security(security)
                .build()
                .unwrap_err();
            assert_eq!(err.field, "security.protocol");
            assert!(err.reason.contains("`tls` feature"), "{}", err.reason);
        }
        let err = ConnectionConfig::builder()
            .security(SecurityConfig::sasl_plaintext(SaslConfig::scram_sha256(
                "u", "p",
            )))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "sasl.mechanism");
        assert!(
            err.reason.starts_with("SCRAM-SHA-256 needs"),
            "{}",
            err.reason
        );
        let plain = ConnectionConfig::builder()
            .security(SecurityConfig::sasl_plaintext(SaslConfig::plain("u", "p")))
            .build();
        assert!(plain.is_ok(), "PLAIN over plaintext needs no TLS");
    }

    #[test]
    fn invalid_values_name_their_field() {
        let err = |b: ConnectionConfigBuilder| b.build().unwrap_err().field;
        assert_eq!(
            err(ConnectionConfig::builder().max_in_flight_requests(0)),
            "max_in_flight_requests"
        );
        assert_eq!(
            err(ConnectionConfig::builder().connections_per_broker(0)),
            "connections_per_broker"
        );
        assert_eq!(
            err(ConnectionConfig::builder().request_timeout(Duration::ZERO)),
            "request_timeout"
        );
        assert_eq!(
            err(ConnectionConfig::builder().reconnect_backoff_max(Duration::from_millis(10))),
            "reconnect_backoff_max"
        );
        assert_eq!(
            err(ConnectionConfig::builder().send_buffer_size(Some(0))),
            "send_buffer_size"
        );
        assert_eq!(
            err(ConnectionConfig::builder().max_response_size(10)),
            "max_response_size"
        );
        let message = ConnectionConfig::builder()
            .high_priority_channel_capacity(0)
            .build()
            .unwrap_err();
        assert_eq!(
            message.to_string(),
            "invalid high_priority_channel_capacity: must be at least 1"
        );
    }

    #[test]
    fn settings_are_kept() {
        let c = ConnectionConfig::builder()
            .client_id("svc")
            .connections_per_broker(3)
            .receive_buffer_size(None)
            .build()
            .unwrap();
        assert_eq!(
            (
                c.client_id.as_str(),
                c.connections_per_broker,
                c.receive_buffer_size
            ),
            ("svc", 3, None)
        );
    }
}
