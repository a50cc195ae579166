//! `NetError`: everything that can go wrong between a request and its response, and whether
//! trying again can help.
//!
//! Errors are `Clone` because one failure (a dropped connection) is delivered to every request
//! that was waiting on it; the I/O cause is kept behind an `Arc` for that reason.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use krafka_protocol::{ApiKey, DecodeError, EncodeError, ErrorCode};

/// A failure of the network layer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NetError {
    /// The address could not be resolved or the TCP connect failed.
    Connect {
        /// The broker address.
        addr: String,
        /// The operating system's reason.
        source: Arc<io::Error>,
    },
    /// Connecting plus the handshake took longer than `connect_timeout`.
    ConnectTimeout {
        /// The broker address.
        addr: String,
        /// The limit that passed.
        after: Duration,
    },
    /// The connection ended before the response arrived (reset, EOF, write failure). The
    /// request may or may not have been applied by the broker.
    Disconnected {
        /// The broker address.
        addr: String,
        /// What ended it.
        reason: Arc<str>,
    },
    /// No response within `request_timeout`; the connection was closed, because a late answer
    /// could no longer be matched to its request.
    RequestTimeout {
        /// The broker address.
        addr: String,
        /// The API of the oldest request that timed out.
        api_key: ApiKey,
        /// The limit that passed.
        after: Duration,
    },
    /// The broker broke the protocol (a response for an unknown correlation id, a frame over
    /// `max_response_size`, an undecodable response); the connection was closed.
    Protocol {
        /// The broker address.
        addr: String,
        /// What was wrong.
        reason: Arc<str>,
    },
    /// The request could not be encoded (a field its version cannot carry, …). Not retriable.
    Encode(EncodeError),
    /// The response body could not be decoded.
    Decode(DecodeError),
    /// The broker does not support any version of this API that this client speaks.
    UnsupportedApi {
        /// The broker address.
        addr: String,
        /// The API.
        api_key: ApiKey,
    },
    /// The handshake's ApiVersions request was refused with this error.
    Handshake {
        /// The broker address.
        addr: String,
        /// The broker's error code.
        code: ErrorCode,
    },
    /// The connection was closed by [`close`](crate::BrokerConnection::close) or by dropping
    /// its last handle, or was idle for `idle_timeout`.
    Closed {
        /// The broker address.
        addr: String,
    },
    /// A recent attempt to reach this broker failed; the pool waits this long before dialling
    /// it again instead of hammering a broker that is down.
    Backoff {
        /// The broker address.
        addr: String,
        /// Time left before the next attempt.
        retry_in: Duration,
        /// Why the last attempt failed.
        last_error: Box<NetError>,
    },
    /// No address is known for this broker id (the metadata has not listed it).
    UnknownBroker(i32),
    /// No bootstrap address or known broker answered a metadata request.
    NoBrokerAvailable {
        /// The last failure, if any broker was tried at all.
        last_error: Option<Box<NetError>>,
    },
    /// TLS could not be set up with the broker: its certificate was refused (untrusted, wrong
    /// host name, expired), the handshake failed, or the port does not speak TLS. Not
    /// retriable: the same settings fail the same way.
    Tls {
        /// The broker address.
        addr: String,
        /// Why, in words a user acts on.
        reason: Arc<str>,
    },
    /// SASL authentication failed: wrong credentials, a mechanism the broker does not enable,
    /// or a broker that could not prove it knows the password (SCRAM). Not retriable.
    Authentication {
        /// The broker address.
        addr: String,
        /// The mechanism tried (`SCRAM-SHA-512`, …).
        mechanism: &'static str,
        /// What failed, with the broker's own message where it sent one. Never a secret.
        message: Arc<str>,
    },
    /// The request is not one this call can send (for example a Produce with acks=0 through a
    /// call that waits for a response).
    InvalidRequest(&'static str),
}

impl NetError {
    /// Whether sending the request again (after a metadata refresh or reconnect) can succeed.
    ///
    /// Connection-level failures are retriable; encoding mistakes, protocol violations and
    /// unsupported APIs are not.
    pub fn is_retriable(&self) -> bool {
        match self {
            // Backing off after a refused certificate or password: waiting will not mend it.
            Self::Backoff { last_error, .. } => !last_error.is_security_failure(),
            Self::Connect { .. }
            | Self::ConnectTimeout { .. }
            | Self::Disconnected { .. }
            | Self::RequestTimeout { .. }
            | Self::Closed { .. }
            | Self::UnknownBroker(_) => true,
            Self::NoBrokerAvailable { .. } => !self.is_security_failure(),
            Self::Protocol { .. }
            | Self::Encode(_)
            | Self::Decode(_)
            | Self::UnsupportedApi { .. }
            | Self::Handshake { .. }
            | Self::Tls { .. }
            | Self::Authentication { .. }
            | Self::InvalidRequest(_) => false,
        }
    }

    /// Whether this is a security failure (TLS or SASL) that retrying cannot mend, here or
    /// behind a [`NetError::Backoff`] or [`NetError::NoBrokerAvailable`].
    pub fn is_security_failure(&self) -> bool {
        match self {
            Self::Tls { .. } | Self::Authentication { .. } => true,
            Self::Backoff { last_error, .. } => last_error.is_security_failure(),
            Self::NoBrokerAvailable {
                last_error: Some(e),
            } => e.is_security_failure(),
            _ => false,
        }
    }

    /// The error under any [`Backoff`](Self::Backoff) or
    /// [`NoBrokerAvailable`](Self::NoBrokerAvailable) wrapping: what actually failed.
    pub fn root_cause(&self) -> &NetError {
        match self {
            Self::Backoff { last_error, .. } => last_error.root_cause(),
            Self::NoBrokerAvailable {
                last_error: Some(e),
            } => e.root_cause(),
            other => other,
        }
    }

    pub(crate) fn disconnected(addr: &str, reason: impl fmt::Display) -> Self {
        Self::Disconnected {
            addr: addr.to_owned(),
            reason: reason.to_string().into(),
        }
    }

    pub(crate) fn protocol(addr: &str, reason: impl fmt::Display) -> Self {
        Self::Protocol {
            addr: addr.to_owned(),
            reason: reason.to_string().into(),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { addr, source } => write!(f, "cannot connect to {addr}: {source}"),
            Self::ConnectTimeout { addr, after } => {
                write!(f, "connecting to {addr} took longer than {after:?}")
            }
            Self::Disconnected { addr, reason } => {
                write!(f, "connection to {addr} lost before the response: {reason}")
            }
            Self::RequestTimeout {
                addr,
                api_key,
                after,
            } => write!(
                f,
                "{} request to {addr} got no response within {after:?}",
                api_key.name().unwrap_or("unknown")
            ),
            Self::Protocol { addr, reason } => {
                write!(f, "protocol violation by {addr}: {reason}")
            }
            Self::Encode(e) => write!(f, "cannot encode request: {e}"),
            Self::Decode(e) => write!(f, "cannot decode response: {e}"),
            Self::UnsupportedApi { addr, api_key } => write!(
                f,
                "{addr} supports no version of {} that this client speaks",
                api_key.name().unwrap_or("this API")
            ),
            Self::Handshake { addr, code } => {
                write!(f, "{addr} refused the ApiVersions handshake: {code}")
            }
            Self::Closed { addr } => write!(f, "connection to {addr} is closed"),
            Self::Backoff {
                addr,
                retry_in,
                last_error,
            } => write!(
                f,
                "{addr} is backing off for {retry_in:?} after: {last_error}"
            ),
            Self::UnknownBroker(id) => write!(f, "no address known for broker {id}"),
            Self::NoBrokerAvailable { last_error } => match last_error {
                Some(e) => write!(f, "no broker answered; last error: {e}"),
                None => write!(f, "no broker address to try"),
            },
            Self::Tls { addr, reason } => write!(f, "TLS with {addr} failed: {reason}"),
            Self::Authentication {
                addr,
                mechanism,
                message,
            } => write!(
                f,
                "SASL {mechanism} authentication with {addr} failed: {message}"
            ),
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } => Some(source.as_ref()),
            Self::Encode(e) => Some(e),
            Self::Decode(e) => Some(e),
            Self::Backoff { last_error, .. } => Some(last_error.as_ref()),
            _ => None,
        }
    }
}

impl From<EncodeError> for NetError {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

impl From<DecodeError> for NetError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_failures_stay_failures_behind_backoff_and_bootstrap() {
        let auth = NetError::Authentication {
            addr: "b:1".into(),
            mechanism: "PLAIN",
            message: "Invalid username or password".into(),
        };
        let behind = |e: NetError| NetError::Backoff {
            addr: "b:1".into(),
            retry_in: Duration::from_millis(50),
            last_error: Box::new(e),
        };
        let down = NetError::disconnected("b:1", "reset");
        assert!(!behind(auth.clone()).is_retriable());
        assert!(behind(down.clone()).is_retriable());
        let none = NetError::NoBrokerAvailable {
            last_error: Some(Box::new(behind(auth.clone()))),
        };
        assert!(!none.is_retriable() && none.is_security_failure());
        assert!(matches!(none.root_cause(), NetError::Authentication { .. }));
        assert!(
            NetError::NoBrokerAvailable {
                last_error: Some(Box::new(down))
            }
            .is_retriable()
        );
    }
}
