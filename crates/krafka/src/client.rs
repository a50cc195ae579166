//! [`Krafka`]: one client handle that owns the bootstrap list, the connection settings, the
//! metadata cache and the connection pool, and builds producers and consumers that share them
//! (one set of broker connections and one metadata refresher for a whole service).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use krafka::{Krafka, Profile};
//!
//! let kafka = Krafka::builder("127.0.0.1:9092")
//!     .client_id("billing")
//!     .profile(Profile::Latency)
//!     .connect()
//!     .await?;
//! let producer = kafka.producer()?;
//! let mut consumer = kafka.consumer_with("billing", |c| c.max_poll_records(100))?;
//! consumer.subscribe(["invoices"])?;
//! # producer.close().await;
//! # consumer.close().await;
//! kafka.close().await;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use krafka_net::{
    ClusterMetadata, ConnectionConfigBuilder, ConnectionPool, MetadataConfig, NetError, SaslConfig,
    SecurityConfig, SecurityProtocol, TlsConfig,
};

use crate::Profile;

/// Why a [`Krafka`] handle could not be made.
#[derive(Debug)]
pub enum ClientError {
    /// A connection setting is invalid.
    Config(String),
    /// No bootstrap broker answered.
    Network(NetError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(e) => write!(f, "invalid client setting: {e}"),
            // A refused certificate or password is said plainly, not as "no broker answered".
            ClientError::Network(e) if e.is_security_failure() => write!(f, "{}", e.root_cause()),
            ClientError::Network(e) => write!(f, "cannot reach the cluster: {e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Network(e) => Some(e),
            ClientError::Config(_) => None,
        }
    }
}

/// Configures a [`Krafka`] handle.
#[derive(Debug, Clone)]
pub struct KrafkaBuilder {
    bootstrap: String,
    client_id: String,
    profile: Profile,
    request_timeout: Duration,
    allow_auto_create_topics: bool,
    connection: ConnectionConfigBuilder,
    metadata_max_age: Option<Duration>,
}

impl KrafkaBuilder {
    /// Java's `client.id`, sent with every request ("krafka" by default).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The tuning profile producers and consumers start from (Balanced by default).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Java's `request.timeout.ms` for the shared connections (30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Whether the producers' and consumers' metadata requests for a topic that does not
    /// exist create it, where the broker's `auto.create.topics.enable` allows (true, as Java's
    /// producer and its consumer's `allow.auto.create.topics`). [`Admin`](crate::Admin) never
    /// creates topics this way.
    pub fn allow_auto_create_topics(mut self, allow: bool) -> Self {
        self.allow_auto_create_topics = allow;
        self
    }

    /// TLS and SASL for every connection the handle makes: bootstrap, every broker, group
    /// coordinators, the admin's (Java's `security.protocol`, `ssl.*`, `sasl.*`).
    pub fn security(mut self, security: SecurityConfig) -> Self {
        self.connection = self.connection.security(security);
        self
    }

    /// TLS with `tls` (`security.protocol=SSL`), or SASL_SSL if [`sasl`](Self::sasl) is
    /// also given.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        let mut security = self.connection.peek().security.clone();
        security.protocol = if security.sasl.is_some() {
            SecurityProtocol::SaslSsl
        } else {
            SecurityProtocol::Ssl
        };
        security.tls = tls;
        self.connection = self.connection.security(security);
        self
    }

    /// SASL with `sasl` (`SASL_PLAINTEXT`), or SASL_SSL if [`tls`](Self::tls) is also given.
    pub fn sasl(mut self, sasl: SaslConfig) -> Self {
        let mut security = self.connection.peek().security.clone();
        security.protocol = if security.protocol.uses_tls() {
            SecurityProtocol::SaslSsl
        } else {
            SecurityProtocol::SaslPlaintext
        };
        security.sasl = Some(sasl);
        self.connection = self.connection.security(security);
        self
    }

    /// All connection settings at once (security, backoff, timeouts, buffers); the client id
    /// and request timeout set on this builder override theirs.
    pub fn connection(mut self, connection: ConnectionConfigBuilder) -> Self {
        self.connection = connection;
        self
    }

    /// Java's `metadata.max.age.ms`: the metadata cache is refreshed at least this often
    /// (5 minutes).
    pub fn metadata_max_age(mut self, age: Duration) -> Self {
        self.metadata_max_age = Some(age);
        self
    }

    /// Connects to the bootstrap brokers and loads the cluster's metadata.
    ///
    /// Cancel-safe: dropping the future before it completes leaves nothing running.
    pub async fn connect(self) -> Result<Krafka, ClientError> {
        let connection = self
            .connection
            .clone()
            .client_id(self.client_id.clone())
            .request_timeout(self.request_timeout)
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let pool = ConnectionPool::new(connection);
        let mut metadata_config = MetadataConfig::new(self.bootstrap.split(',').map(str::trim));
        metadata_config.allow_auto_topic_creation = self.allow_auto_create_topics;
        if let Some(age) = self.metadata_max_age {
            metadata_config.max_age = age;
        }
        let metadata = ClusterMetadata::connect(pool, metadata_config)
            .await
            .map_err(ClientError::Network)?;
        Ok(Krafka {
            metadata,
            client_id: self.client_id,
            profile: self.profile,
        })
    }
}

/// One connection to a cluster, shared by the producers and consumers it builds.
#[derive(Clone)]
pub struct Krafka {
    metadata: ClusterMetadata,
    client_id: String,
    profile: Profile,
}

impl fmt::Debug for Krafka {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Krafka")
            .field("client_id", &self.client_id)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Krafka {
    /// Starts configuring a handle for the brokers in `bootstrap` (`host:port,host:port`).
    pub fn builder(bootstrap: impl Into<String>) -> KrafkaBuilder {
        KrafkaBuilder {
            bootstrap: bootstrap.into(),
            client_id: "krafka".to_owned(),
            profile: Profile::Balanced,
            request_timeout: Duration::from_secs(30),
            allow_auto_create_topics: true,
            connection: ConnectionConfigBuilder::default(),
            metadata_max_age: None,
        }
    }

    /// The shared metadata cache (and through it the connection pool).
    pub fn metadata(&self) -> &ClusterMetadata {
        &self.metadata
    }

    /// The profile producers and consumers start from.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// A producer with the handle's profile and client id, on the shared connections.
    #[cfg(feature = "producer")]
    pub fn producer(&self) -> Result<krafka_producer::Producer, krafka_producer::ProduceError> {
        self.producer_with(|b| b)
    }

    /// A producer whose settings `configure` adjusts after the profile.
    #[cfg(feature = "producer")]
    pub fn producer_with(
        &self,
        configure: impl FnOnce(krafka_producer::ProducerBuilder) -> krafka_producer::ProducerBuilder,
    ) -> Result<krafka_producer::Producer, krafka_producer::ProduceError> {
        let builder = self
            .profile
            .producer(krafka_producer::ProducerBuilder::new().client_id(self.client_id.clone()));
        configure(builder).build_on(self.metadata.clone())
    }

    /// A consumer of `group` with the handle's profile and client id, on the shared
    /// connections (its group coordinator gets a connection of its own, see
    /// `krafka-consumer`).
    #[cfg(feature = "consumer")]
    pub fn consumer(
        &self,
        group: impl Into<String>,
    ) -> Result<krafka_consumer::Consumer, krafka_consumer::ConsumeError> {
        self.consumer_with(group, |b| b)
    }

    /// A consumer of `group` whose settings `configure` adjusts after the profile.
    #[cfg(feature = "consumer")]
    pub fn consumer_with(
        &self,
        group: impl Into<String>,
        configure: impl FnOnce(krafka_consumer::ConsumerBuilder) -> krafka_consumer::ConsumerBuilder,
    ) -> Result<krafka_consumer::Consumer, krafka_consumer::ConsumeError> {
        let builder = self.profile.consumer(
            krafka_consumer::ConsumerBuilder::new()
                .client_id(self.client_id.clone())
                .group_id(group),
        );
        configure(builder).build_on(self.metadata.clone())
    }

    /// A consumer without a group, for manual assignment.
    #[cfg(feature = "consumer")]
    pub fn consumer_without_group(
        &self,
    ) -> Result<krafka_consumer::Consumer, krafka_consumer::ConsumeError> {
        self.profile
            .consumer(krafka_consumer::ConsumerBuilder::new().client_id(self.client_id.clone()))
            .build_on(self.metadata.clone())
    }

    /// Topic and cluster administration on the shared connections.
    pub fn admin(&self) -> crate::Admin {
        crate::Admin::new(self.metadata.clone())
    }

    /// Closes the shared connections. Close the producers and consumers first: their requests
    /// fail once the pool is closed.
    ///
    /// Cancel-safe: the pool is closed from the first poll on.
    pub async fn close(&self) {
        self.metadata.pool().close().await;
    }
}
