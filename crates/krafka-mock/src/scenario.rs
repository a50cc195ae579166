//! The cluster a two-backend scenario runs on.
//!
//! The produce, consume, group and CLI scenarios of every crate's test suite are written once
//! and run twice: against an in-process [`MockCluster`] by default (plain `cargo test`), and
//! against the real broker that `KRAFKA_BOOTSTRAP` names (`cargo xtask test` starts tansu and
//! runs the `scenarios::` tests of each suite with it set). A scenario creates its own topics
//! with names no other run uses, so it works on a fresh mock and on a long-lived broker alike,
//! and it avoids what only one backend does (see the notes on tansu in docs/testing.md).

use std::net::SocketAddr;

use crate::MockCluster;

/// The variable naming a real cluster (`host:port[,host:port…]`) for scenarios.
pub const BOOTSTRAP_VARIABLE: &str = "KRAFKA_BOOTSTRAP";

/// A cluster for one scenario: the real broker of `KRAFKA_BOOTSTRAP`, or a one-broker mock
/// started for the scenario (with topics auto-created, as Kafka's default is).
pub struct ScenarioCluster {
    bootstrap: String,
    mock: Option<MockCluster>,
}

impl ScenarioCluster {
    /// The real broker when `KRAFKA_BOOTSTRAP` is set (and not empty), otherwise a fresh mock.
    ///
    /// Cancel-safety: cancelling while the mock starts drops its listeners; nothing leaks.
    pub async fn start() -> std::io::Result<ScenarioCluster> {
        match std::env::var(BOOTSTRAP_VARIABLE) {
            Ok(bootstrap) if !bootstrap.trim().is_empty() => Ok(ScenarioCluster {
                bootstrap,
                mock: None,
            }),
            _ => {
                let mock = MockCluster::builder().start().await?;
                Ok(ScenarioCluster {
                    bootstrap: mock.bootstrap(),
                    mock: Some(mock),
                })
            }
        }
    }

    /// The cluster's `bootstrap.servers`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The first bootstrap server, as `host:port`.
    pub fn first_server(&self) -> &str {
        self.bootstrap.split(',').next().unwrap_or(&self.bootstrap)
    }

    /// The first bootstrap server's socket address (looked up when it is a host name).
    ///
    /// Cancel-safe: it only resolves a name.
    pub async fn first_addr(&self) -> std::io::Result<SocketAddr> {
        tokio::net::lookup_host(self.first_server())
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{} resolves to no address", self.first_server()),
                )
            })
    }

    /// The in-process mock, when the scenario runs on one.
    pub fn mock(&self) -> Option<&MockCluster> {
        self.mock.as_ref()
    }

    /// What the scenario runs on, for assertion messages: `krafka-mock` or the bootstrap.
    pub fn describe(&self) -> String {
        match self.mock {
            Some(_) => format!("krafka-mock at {}", self.bootstrap),
            None => format!("{BOOTSTRAP_VARIABLE}={}", self.bootstrap),
        }
    }

    /// A topic name no other scenario or run uses: `prefix`, the process id and a counter.
    pub fn unique_topic(prefix: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{}-{n}", std::process::id())
    }

    /// Stops the mock, if the scenario started one; a real broker is left running.
    ///
    /// Cancel-safety: as [`MockCluster::shutdown`].
    pub async fn shutdown(self) {
        if let Some(mock) = self.mock {
            mock.shutdown().await;
        }
    }
}
