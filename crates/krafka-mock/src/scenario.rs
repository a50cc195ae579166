//! The cluster a two-backend scenario runs on.
//!
//! The produce, consume, group and CLI scenarios of every crate's test suite are written once
//! and run twice: against an in-process [`MockCluster`] by default (plain `cargo test`), and
//! against the real broker that `KRAFKA_BOOTSTRAP` names (`cargo xtask test` starts tansu and
//! runs the `scenarios::` tests of each suite with it set). A scenario creates its own topics
//! with names no other run uses, so it works on a fresh mock and on a long-lived broker alike,
//! and it avoids what only one backend does (see the notes on tansu in docs/testing.md).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use krafka_protocol::header::{decode_response_body, decode_response_header, encode_request_frame};
use krafka_protocol::messages::create_topics_request::CreatableTopic;
use krafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    RequestHeader,
};
use krafka_protocol::{ApiKey, ErrorCode, RequestMessage, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::MockCluster;

/// The largest answer `create_topic` reads: an answer naming one topic is a few hundred bytes.
const MAX_ANSWER: usize = 1 << 20;

/// The variable naming a real cluster (`host:port[,host:port…]`) for scenarios.
pub const BOOTSTRAP_VARIABLE: &str = "KRAFKA_BOOTSTRAP";

/// The variable naming what kind of broker `KRAFKA_BOOTSTRAP` is, when it is one with known
/// deviations from Apache Kafka: `tansu` (`cargo xtask test` sets it for the tansu it starts).
pub const BROKER_KIND_VARIABLE: &str = "KRAFKA_BROKER_KIND";

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

    /// Whether the scenario runs on tansu (see [`BROKER_KIND_VARIABLE`]), whose known
    /// deviations from Kafka a scenario may step around (docs/testing.md lists them).
    pub fn is_tansu(&self) -> bool {
        self.mock.is_none()
            && std::env::var(BROKER_KIND_VARIABLE)
                .is_ok_and(|kind| kind.eq_ignore_ascii_case("tansu"))
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

    /// Creates `topic` with `partitions` partitions (replication factor 1) and waits until the
    /// cluster has it; one that exists already is fine. Speaks the wire protocol itself
    /// (ApiVersions, then CreateTopics at the highest version both sides have), so scenarios of
    /// every crate share it and the mock keeps depending on krafka-protocol alone.
    ///
    /// Cancel-safe: the connection is dropped; a topic may or may not have been created.
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> std::io::Result<()> {
        let mut stream = TcpStream::connect(self.first_addr().await?).await?;
        let versions: ApiVersionsResponse =
            call(&mut stream, 1, &ApiVersionsRequest::default(), 0).await?;
        let theirs = versions
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::CREATE_TOPICS.0)
            .ok_or_else(|| invalid("the broker does not serve CreateTopics"))?;
        let ours = ApiKey::CREATE_TOPICS
            .supported_versions()
            .ok_or_else(|| invalid("no CreateTopics codec"))?;
        let version = theirs.max_version.min(ours.max);
        if version < theirs.min_version.max(ours.min) {
            return Err(invalid("no CreateTopics version in common"));
        }
        let request = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: StrBytes::from_string(topic.to_owned()),
                num_partitions: partitions,
                replication_factor: 1,
                ..Default::default()
            }],
            timeout_ms: 10_000,
            ..Default::default()
        };
        let created: CreateTopicsResponse = call(&mut stream, 2, &request, version).await?;
        let code = created
            .topics
            .first()
            .map_or(ErrorCode::UNKNOWN_SERVER_ERROR, |t| ErrorCode(t.error_code));
        if code.is_ok() || code == ErrorCode::TOPIC_ALREADY_EXISTS {
            Ok(())
        } else {
            Err(invalid(&format!("CreateTopics {topic}: {code}")))
        }
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

fn invalid(reason: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, reason.to_owned())
}

/// Sends one request on `stream` and reads its answer.
async fn call<M: RequestMessage>(
    stream: &mut TcpStream,
    correlation_id: i32,
    body: &M,
    version: i16,
) -> std::io::Result<M::Response> {
    let header = RequestHeader {
        correlation_id,
        client_id: Some(StrBytes::from_static_str("krafka-scenario")),
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_request_frame(&mut buf, &header, body, version)
        .map_err(|e| invalid(&format!("encoding {:?}: {e}", M::API_KEY)))?;
    stream.write_all(&buf).await?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > MAX_ANSWER {
        return Err(invalid(&format!("an answer of {len} bytes")));
    }
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame).await?;
    let mut frame = Bytes::from(frame);
    let answer = decode_response_header(&mut frame, M::API_KEY, version)
        .map_err(|e| invalid(&format!("answer header: {e}")))?;
    if answer.correlation_id != correlation_id {
        return Err(invalid("an answer to another request"));
    }
    decode_response_body::<M::Response>(frame, version)
        .map_err(|e| invalid(&format!("answer to {:?}: {e}", M::API_KEY)))
}
