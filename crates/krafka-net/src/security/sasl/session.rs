//! [`SaslSession`]: Kafka's SASL exchange around a mechanism, decided without I/O (KIP-152).
//!
//! A session asks for a SaslHandshake naming its mechanism, then for SaslAuthenticate requests
//! carrying the mechanism's messages until the mechanism is done and the broker agrees. Its
//! driver (the connection handshake, or the connection's re-authentication, KIP-368) sends what
//! it asks for and hands back each answer's fields. A broker's session lifetime comes back with
//! the success, so the driver knows when to authenticate again.

use std::time::Duration;

use krafka_protocol::ErrorCode;

use super::mechanism::Authenticator;
use super::step::{Reply, SaslFailure};

/// What the session wants sent next.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslRequest {
    /// SaslHandshake (v1) with this mechanism.
    Handshake {
        /// The mechanism's name.
        mechanism: &'static str,
    },
    /// SaslAuthenticate with these bytes.
    Authenticate(Vec<u8>),
}

/// The result of an answer.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionOutcome {
    /// Send this next.
    Continue(SaslRequest),
    /// Authenticated. With a lifetime, the broker ends the session that long after now
    /// (KIP-368) and the client must authenticate again before then.
    Authenticated {
        /// The broker's `session_lifetime_ms`, if it set one.
        session_lifetime: Option<Duration>,
    },
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Start,
    AwaitHandshake,
    AwaitAuthenticate,
    Done,
    Failed,
}

/// One SASL exchange on one connection.
#[derive(Debug)]
pub struct SaslSession {
    mechanism: &'static str,
    authenticator: Authenticator,
    state: State,
}

impl SaslSession {
    /// A session authenticating with `mechanism` (its name) through `authenticator`.
    pub fn new(mechanism: &'static str, authenticator: Authenticator) -> Self {
        Self {
            mechanism,
            authenticator,
            state: State::Start,
        }
    }

    /// The mechanism's name.
    pub fn mechanism(&self) -> &'static str {
        self.mechanism
    }

    /// The first request: the handshake.
    pub fn start(&mut self) -> Result<SaslRequest, SaslFailure> {
        if self.state != State::Start {
            return Err(self.fail("the SASL session was started twice"));
        }
        self.state = State::AwaitHandshake;
        Ok(SaslRequest::Handshake {
            mechanism: self.mechanism,
        })
    }

    /// The SaslHandshake answer: its error code and the broker's enabled mechanisms.
    pub fn on_handshake(
        &mut self,
        error_code: i16,
        enabled: &[&str],
    ) -> Result<SaslRequest, SaslFailure> {
        if self.state != State::AwaitHandshake {
            return Err(self.fail("SaslHandshake answer out of order"));
        }
        let code = ErrorCode(error_code);
        if code == ErrorCode::UNSUPPORTED_SASL_MECHANISM {
            let list = if enabled.is_empty() {
                "none".to_owned()
            } else {
                enabled.join(", ")
            };
            return Err(self.fail(&format!(
                "the broker does not enable {}; it enables: {list}",
                self.mechanism
            )));
        }
        if code == ErrorCode::ILLEGAL_SASL_STATE {
            return Err(self.fail(
                "the broker does not expect SASL here (is this listener SASL? check security.protocol)",
            ));
        }
        if code.is_error() {
            return Err(self.fail(&format!("SaslHandshake refused: {code}")));
        }
        let first = match self.authenticator.first_message() {
            Ok(first) => first,
            Err(e) => return Err(self.fail(&e.message)),
        };
        self.state = State::AwaitAuthenticate;
        Ok(SaslRequest::Authenticate(first))
    }

    /// A SaslAuthenticate answer.
    pub fn on_authenticate(
        &mut self,
        error_code: i16,
        error_message: Option<&str>,
        auth_bytes: &[u8],
        session_lifetime_ms: i64,
    ) -> Result<SessionOutcome, SaslFailure> {
        if self.state != State::AwaitAuthenticate {
            return Err(self.fail("SaslAuthenticate answer out of order"));
        }
        let code = ErrorCode(error_code);
        if code.is_error() {
            let said = error_message
                .filter(|m| !m.is_empty())
                .map(|m| bounded(m, 512))
                .or_else(|| match &self.authenticator {
                    Authenticator::OAuthBearer(c) => c.server_error().map(str::to_owned),
                    _ => None,
                })
                .unwrap_or_else(|| code.to_string());
            return Err(self.fail(&said));
        }
        match self.authenticator.on_challenge(auth_bytes) {
            Ok(Reply::Send(next)) => Ok(SessionOutcome::Continue(SaslRequest::Authenticate(next))),
            Ok(Reply::Done) => {
                self.state = State::Done;
                let session_lifetime = u64::try_from(session_lifetime_ms)
                    .ok()
                    .filter(|&ms| ms > 0)
                    .map(Duration::from_millis);
                Ok(SessionOutcome::Authenticated { session_lifetime })
            }
            Err(e) => Err(self.fail(&e.message)),
        }
    }

    fn fail(&mut self, why: &str) -> SaslFailure {
        self.state = State::Failed;
        SaslFailure::new(why)
    }
}

/// When to authenticate again, after a session of `lifetime` began: at a point between 85%
/// and 95% of it, as Java's client picks (`jitter` in 0..1 spreads connections apart).
pub fn reauthentication_delay(lifetime: Duration, jitter: f64) -> Duration {
    lifetime.mul_f64(0.85 + 0.10 * jitter.clamp(0.0, 1.0))
}

/// At most `max` characters of a broker's message.
fn bounded(message: &str, max: usize) -> String {
    message.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::super::mechanism::plain_message;
    use super::*;
    use crate::security::Secret;
    #[cfg(feature = "tls")]
    use crate::security::sasl::{ScramClient, ScramHash};

    fn plain() -> SaslSession {
        SaslSession::new(
            "PLAIN",
            Authenticator::Plain {
                message: Some(plain_message("alice", &Secret::new("pw"))),
            },
        )
    }

    #[test]
    fn plain_is_one_round() {
        let mut s = plain();
        assert_eq!(
            s.start().unwrap(),
            SaslRequest::Handshake { mechanism: "PLAIN" }
        );
        assert_eq!(
            s.on_handshake(0, &["PLAIN"]).unwrap(),
            SaslRequest::Authenticate(b"\0alice\0pw".to_vec())
        );
        assert_eq!(
            s.on_authenticate(0, None, b"", 3_600_000).unwrap(),
            SessionOutcome::Authenticated {
                session_lifetime: Some(Duration::from_secs(3600))
            }
        );
    }

    #[test]
    fn an_unknown_mechanism_lists_the_brokers() {
        let mut s = plain();
        s.start().unwrap();
        let err = s
            .on_handshake(
                ErrorCode::UNSUPPORTED_SASL_MECHANISM.0,
                &["SCRAM-SHA-512", "OAUTHBEARER"],
            )
            .unwrap_err();
        assert_eq!(
            err.message,
            "the broker does not enable PLAIN; it enables: SCRAM-SHA-512, OAUTHBEARER"
        );
    }

    #[test]
    fn a_failure_carries_the_brokers_message() {
        let mut s = plain();
        s.start().unwrap();
        s.on_handshake(0, &[]).unwrap();
        let err = s
            .on_authenticate(
                ErrorCode::SASL_AUTHENTICATION_FAILED.0,
                Some("Invalid username or password"),
                b"",
                0,
            )
            .unwrap_err();
        assert_eq!(err.message, "Invalid username or password");
        // A failed session accepts nothing more.
        assert!(s.on_authenticate(0, None, b"", 0).is_err());
    }

    #[test]
    fn answers_out_of_order_are_errors() {
        let mut s = plain();
        assert!(s.on_handshake(0, &[]).is_err());
        let mut s = plain();
        s.start().unwrap();
        assert!(s.on_authenticate(0, None, b"", 0).is_err());
    }

    #[cfg(feature = "tls")]
    #[test]
    fn scram_takes_two_rounds() {
        let mut s = SaslSession::new(
            "SCRAM-SHA-256",
            Authenticator::Scram(ScramClient::with_nonce(
                ScramHash::Sha256,
                "user",
                Secret::new("pencil"),
                "rOprNGfwEbeRWgbNEkqO".into(),
            )),
        );
        s.start().unwrap();
        s.on_handshake(0, &[]).unwrap();
        let next = s
            .on_authenticate(
                0,
                None,
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                0,
            )
            .unwrap();
        assert!(matches!(
            next,
            SessionOutcome::Continue(SaslRequest::Authenticate(_))
        ));
        assert_eq!(
            s.on_authenticate(
                0,
                None,
                b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
                0
            )
            .unwrap(),
            SessionOutcome::Authenticated {
                session_lifetime: None
            }
        );
    }

    #[test]
    fn reauthentication_is_between_85_and_95_percent() {
        let life = Duration::from_secs(100);
        assert_eq!(reauthentication_delay(life, 0.0), Duration::from_secs(85));
        assert_eq!(reauthentication_delay(life, 1.0), Duration::from_secs(95));
        assert_eq!(reauthentication_delay(life, 7.0), Duration::from_secs(95));
    }
}
