//! Configuration from Java-style properties (`bootstrap.servers`, `linger.ms`, `group.id`,
//! `security.protocol`, …), so services can bring the configs they already have: from key/value
//! pairs, from the text of a `.properties` file (the whole syntax, see [`syntax`]), or from any
//! serde format that holds a flat map (TOML, JSON) through [`Properties`]'s `Deserialize`. One
//! file configures the shared handle ([`Properties::krafka`]), a producer, a consumer, and the
//! connections under them ([`Properties::connection`], with TLS and SASL from [`security`]).
//!
//! Every key either client knows is accepted by both (a shared file configures the producer and
//! the consumer; each takes its own keys, as Java's clients do). A key neither knows, or a value
//! that does not parse, is a [`PropertyError`] naming the key. Settings are then checked by the
//! builders' own validation when the client connects.

mod lookup;
pub mod security;
pub mod syntax;

use self::lookup::Lookup;
pub use self::lookup::PropertyError;
use std::collections::BTreeMap;
use std::time::Duration;

use krafka_net::ConnectionConfigBuilder;

/// A set of Java-style client properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, String>,
}

const COMMON: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "connections.max.idle.ms",
    "socket.connection.setup.timeout.ms",
    // Krafka's own (neither Java nor librdkafka has it): connections opened to each broker.
    "connections.per.broker",
    "metadata.max.age.ms",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
];
const PRODUCER: &[&str] = &[
    "acks",
    "batch.size",
    "linger.ms",
    "enable.idempotence",
    "compression.type",
    "compression.level",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "buffer.memory",
    "max.block.ms",
    "delivery.timeout.ms",
    "max.in.flight.requests.per.connection",
    "max.request.size",
];
const CONSUMER: &[&str] = &[
    "group.id",
    "group.instance.id",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.max.wait.ms",
    "auto.offset.reset",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "isolation.level",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "max.poll.records",
    "check.crcs",
    "allow.auto.create.topics",
    "partition.assignment.strategy",
];

fn known(key: &str) -> bool {
    COMMON.contains(&key)
        || PRODUCER.contains(&key)
        || CONSUMER.contains(&key)
        || security::KEYS.contains(&key)
}

/// The serializer classes that mean what Krafka does anyway: keys and values are bytes (a
/// string is its UTF-8 bytes).
const BYTE_CLASSES: &[&str] = &[
    "ByteArraySerializer",
    "ByteArrayDeserializer",
    "StringSerializer",
    "StringDeserializer",
    "ByteBufferSerializer",
    "ByteBufferDeserializer",
    "BytesSerializer",
    "BytesDeserializer",
];

/// Checks a key's value where it can be checked without a client: refused keys and serializer
/// classes.
fn check(key: &str, value: &str) -> Result<(), PropertyError> {
    if let Some((_, reason)) = security::REFUSED.iter().find(|(k, _)| *k == key) {
        return Err(PropertyError {
            key: key.to_owned(),
            reason: (*reason).to_owned(),
        });
    }
    if !known(key) {
        return Err(PropertyError {
            key: key.to_owned(),
            reason: "not a setting Krafka knows".into(),
        });
    }
    if key.ends_with("serializer") {
        let class = value.trim();
        let short = class.rsplit('.').next().unwrap_or(class);
        let kafka_class =
            class.starts_with("org.apache.kafka.common.serialization.") || !class.contains('.');
        if !(kafka_class && BYTE_CLASSES.contains(&short)) {
            return Err(PropertyError {
                key: key.to_owned(),
                reason: format!(
                    "'{class}' is not supported: Krafka sends and receives bytes, as Kafka's ByteArray and String (de)serializers do; serialize in the application"
                ),
            });
        }
    }
    Ok(())
}

/// For each `"key" => setter` whose key is set, reads the value with `read` (`text`,
/// `millis` or `parsed`) and calls the builder's setter with it.
macro_rules! apply {
    ($props:ident, $builder:ident, $read:ident: $($key:literal => $setter:ident),* $(,)?) => {
        $(
            if let Some(value) = $props.$read($key)? {
                $builder = $builder.$setter(value);
            }
        )*
    };
}

impl Lookup for Properties {
    fn get(&self, key: &str) -> Option<&str> {
        Properties::get(self, key)
    }
}

impl Properties {
    /// Properties from key/value pairs; unknown keys are refused here.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PropertyError> {
        let mut entries = BTreeMap::new();
        for (k, v) in pairs {
            let key: String = k.into();
            let value: String = v.into();
            check(&key, &value)?;
            entries.insert(key, value.trim().to_owned());
        }
        Ok(Self { entries })
    }

    /// Properties from the text of a Java `.properties` file, with the whole syntax Java reads
    /// (see [`syntax`]).
    pub fn parse(text: &str) -> Result<Self, PropertyError> {
        Self::from_pairs(syntax::parse(text)?)
    }

    /// Properties from a `.properties` file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, PropertyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PropertyError {
            key: path.display().to_string(),
            reason: format!("cannot read the file: {e}"),
        })?;
        Self::parse(&text)
    }

    /// Sets one property (checked as [`from_pairs`](Self::from_pairs) checks it), replacing
    /// an earlier value: for `-X key=value` on a command line after a file.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), PropertyError> {
        check(key, value)?;
        self.entries.insert(key.to_owned(), value.trim().to_owned());
        Ok(())
    }

    /// Every key Krafka accepts, for documentation and tooling.
    pub fn accepted_keys() -> impl Iterator<Item = &'static str> {
        COMMON
            .iter()
            .chain(PRODUCER)
            .chain(CONSUMER)
            .chain(security::KEYS)
            .copied()
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, PropertyError> {
        self.get(key)
            .map(|v| {
                v.parse::<T>().map_err(|_| PropertyError {
                    key: key.to_owned(),
                    reason: format!("'{v}' is not a valid value"),
                })
            })
            .transpose()
    }

    fn millis(&self, key: &str) -> Result<Option<Duration>, PropertyError> {
        Ok(self.parsed::<u64>(key)?.map(Duration::from_millis))
    }

    fn invalid(key: &str, value: &str) -> PropertyError {
        PropertyError {
            key: key.to_owned(),
            reason: format!("'{value}' is not a valid value"),
        }
    }

    /// The value of `key` as text (for `apply!`).
    fn text(&self, key: &str) -> Result<Option<&str>, PropertyError> {
        Ok(self.get(key))
    }

    /// The connection settings these properties give: security (`security.protocol`, `ssl.*`,
    /// `sasl.*`), reconnect backoff, idle and connect timeouts, socket buffers, client id,
    /// request timeout, and Krafka's own `connections.per.broker`.
    pub fn connection(&self) -> Result<ConnectionConfigBuilder, PropertyError> {
        let mut b = ConnectionConfigBuilder::default();
        apply!(self, b, text: "client.id" => client_id);
        apply!(self, b, millis:
            "request.timeout.ms" => request_timeout,
            "reconnect.backoff.ms" => reconnect_backoff,
            "reconnect.backoff.max.ms" => reconnect_backoff_max,
            "connections.max.idle.ms" => idle_timeout,
            "socket.connection.setup.timeout.ms" => connect_timeout,
        );
        apply!(self, b, parsed: "connections.per.broker" => connections_per_broker);
        for (key, set) in [
            (
                "send.buffer.bytes",
                ConnectionConfigBuilder::send_buffer_size as fn(_, _) -> _,
            ),
            (
                "receive.buffer.bytes",
                ConnectionConfigBuilder::receive_buffer_size,
            ),
        ] {
            // Java's -1 keeps the operating system's default.
            if let Some(bytes) = self.parsed::<i64>(key)? {
                let size = if bytes < 0 {
                    None
                } else {
                    Some(
                        usize::try_from(bytes)
                            .map_err(|_| Self::invalid(key, &bytes.to_string()))?,
                    )
                };
                b = set(b, size);
            }
        }
        if let Some(security) = security::read(self)? {
            b = b.security(security);
        }
        Ok(b)
    }

    /// The shared client handle these properties describe: `bootstrap.servers` (required),
    /// `client.id`, `request.timeout.ms`, `allow.auto.create.topics`, `metadata.max.age.ms`
    /// and the [connection settings](Self::connection).
    pub fn krafka(&self) -> Result<crate::KrafkaBuilder, PropertyError> {
        let bootstrap = self.get("bootstrap.servers").ok_or_else(|| PropertyError {
            key: "bootstrap.servers".into(),
            reason: "is required".into(),
        })?;
        let mut b = crate::Krafka::builder(bootstrap).connection(self.connection()?);
        apply!(self, b, text: "client.id" => client_id);
        apply!(self, b, millis:
            "request.timeout.ms" => request_timeout,
            "metadata.max.age.ms" => metadata_max_age,
        );
        apply!(self, b, parsed: "allow.auto.create.topics" => allow_auto_create_topics);
        Ok(b)
    }

    /// A producer builder with these properties applied (consumer keys are ignored).
    #[cfg(feature = "producer")]
    pub fn producer(&self) -> Result<krafka_producer::ProducerBuilder, PropertyError> {
        use krafka_producer::{Acks, Compression};
        let mut b = krafka_producer::ProducerBuilder::new().connection(self.connection()?);
        apply!(self, b, text: "bootstrap.servers" => bootstrap_servers, "client.id" => client_id);
        apply!(self, b, millis: "metadata.max.age.ms" => metadata_max_age);
        apply!(self, b, millis:
            "request.timeout.ms" => request_timeout,
            "linger.ms" => linger,
            "max.block.ms" => max_block,
            "delivery.timeout.ms" => delivery_timeout,
        );
        apply!(self, b, parsed:
            "batch.size" => batch_size,
            "enable.idempotence" => idempotence,
            "compression.level" => compression_level,
            "buffer.memory" => buffer_memory,
            "max.in.flight.requests.per.connection" => max_in_flight_requests_per_connection,
            "max.request.size" => max_request_size,
        );
        if let Some(first) = self.millis("retry.backoff.ms")? {
            let max = self
                .millis("retry.backoff.max.ms")?
                .unwrap_or(Duration::from_secs(1))
                .max(first);
            b = b.retry_backoff(first, max);
        }
        if let Some(v) = self.get("acks") {
            b = b.acks(match v {
                "all" | "-1" => Acks::All,
                "1" => Acks::Leader,
                "0" => Acks::None,
                _ => return Err(Self::invalid("acks", v)),
            });
        }
        if let Some(v) = self.get("compression.type") {
            let codec: Compression = v
                .parse()
                .map_err(|_| Self::invalid("compression.type", v))?;
            b = b.compression(codec);
            // Java's per-codec level (KIP-390) applies when it names the chosen codec.
            let level_key = format!("compression.{}.level", v.trim().to_ascii_lowercase());
            let level = match PRODUCER.contains(&level_key.as_str()) {
                true => self.parsed(&level_key)?,
                false => None,
            };
            if let Some(level) = level {
                b = b.compression_level(level);
            }
        }
        Ok(b)
    }

    /// A consumer builder with these properties applied (producer keys are ignored).
    #[cfg(feature = "consumer")]
    pub fn consumer(&self) -> Result<krafka_consumer::ConsumerBuilder, PropertyError> {
        use krafka_consumer::{AssignorKind, IsolationLevel, OffsetReset};
        let mut b = krafka_consumer::ConsumerBuilder::new().connection(self.connection()?);
        apply!(self, b, millis: "metadata.max.age.ms" => metadata_max_age);
        apply!(self, b, text:
            "bootstrap.servers" => bootstrap_servers,
            "client.id" => client_id,
            "group.id" => group_id,
            "group.instance.id" => group_instance_id,
        );
        apply!(self, b, millis:
            "request.timeout.ms" => request_timeout,
            "retry.backoff.ms" => retry_backoff,
            "retry.backoff.max.ms" => retry_backoff_max,
            "fetch.max.wait.ms" => fetch_max_wait,
            "auto.commit.interval.ms" => auto_commit_interval,
            "session.timeout.ms" => session_timeout,
            "heartbeat.interval.ms" => heartbeat_interval,
            "max.poll.interval.ms" => max_poll_interval,
        );
        apply!(self, b, parsed:
            "fetch.min.bytes" => fetch_min_bytes,
            "fetch.max.bytes" => fetch_max_bytes,
            "max.partition.fetch.bytes" => max_partition_fetch_bytes,
            "enable.auto.commit" => enable_auto_commit,
            "max.poll.records" => max_poll_records,
            "check.crcs" => check_crcs,
            "allow.auto.create.topics" => allow_auto_create_topics,
        );
        if let Some(v) = self.get("auto.offset.reset") {
            b = b.auto_offset_reset(match v {
                "earliest" => OffsetReset::Earliest,
                "latest" => OffsetReset::Latest,
                "none" => OffsetReset::None,
                _ => return Err(Self::invalid("auto.offset.reset", v)),
            });
        }
        if let Some(v) = self.get("isolation.level") {
            b = b.isolation_level(match v {
                "read_uncommitted" => IsolationLevel::ReadUncommitted,
                "read_committed" => IsolationLevel::ReadCommitted,
                _ => return Err(Self::invalid("isolation.level", v)),
            });
        }
        if let Some(v) = self.get("partition.assignment.strategy") {
            let mut assignors = Vec::new();
            for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                // Java's class names are accepted too.
                let short = name.rsplit('.').next().unwrap_or(name);
                assignors.push(match short {
                    "range" | "RangeAssignor" => AssignorKind::Range,
                    "roundrobin" | "RoundRobinAssignor" => AssignorKind::RoundRobin,
                    "cooperative-sticky" | "CooperativeStickyAssignor" => {
                        AssignorKind::CooperativeSticky
                    }
                    _ => return Err(Self::invalid("partition.assignment.strategy", name)),
                });
            }
            b = b.assignors(assignors);
        }
        Ok(b)
    }
}

/// A flat map of strings, numbers and booleans (a TOML table, a JSON object) reads as
/// properties: `{"bootstrap.servers": "b:9092", "linger.ms": 5, "enable.idempotence": true}`.
impl<'de> serde::Deserialize<'de> for Properties {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Value {
            Text(String),
            Integer(i64),
            Float(f64),
            Flag(bool),
        }
        let map = BTreeMap::<String, Value>::deserialize(deserializer)?;
        let pairs = map.into_iter().map(|(k, v)| {
            let v = match v {
                Value::Text(s) => s,
                Value::Integer(n) => n.to_string(),
                Value::Float(n) => n.to_string(),
                Value::Flag(b) => b.to_string(),
            };
            (k, v)
        });
        Properties::from_pairs(pairs).map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, feature = "producer", feature = "consumer"))]
mod tests {
    use super::*;
    use krafka_consumer::{AssignorKind, OffsetReset};
    use krafka_producer::{Acks, Compression};

    const FILE: &str = "
# a service's client.properties
bootstrap.servers=127.0.0.1:9092,127.0.0.1:9093
linger.ms = 20
acks: 1
enable.idempotence=false
compression.type=zstd
group.id=billing
auto.offset.reset=earliest
partition.assignment.strategy=org.apache.kafka.clients.consumer.CooperativeStickyAssignor
allow.auto.create.topics=false
";

    #[test]
    fn a_properties_file_configures_both_clients() {
        let props = Properties::parse(FILE).unwrap();
        let p = props.producer().unwrap();
        assert_eq!(p.config().linger, Duration::from_millis(20));
        assert_eq!(p.config().acks, Acks::Leader);
        assert!(!p.config().idempotence);
        assert_eq!(p.config().compression, Compression::Zstd);
        p.config().validate().unwrap();
        let c = props.consumer().unwrap();
        assert_eq!(c.config().group_id.as_deref(), Some("billing"));
        assert_eq!(c.config().auto_offset_reset, OffsetReset::Earliest);
        assert_eq!(c.config().assignors, [AssignorKind::CooperativeSticky]);
        assert!(!c.config().allow_auto_create_topics);
    }

    #[test]
    fn connections_per_broker_is_a_property() {
        let props = Properties::from_pairs([("connections.per.broker", "3")]).unwrap();
        let config = props.connection().unwrap().build().unwrap();
        assert_eq!(config.connections_per_broker, 3);
        let zero = Properties::from_pairs([("connections.per.broker", "0")]).unwrap();
        let err = zero.connection().unwrap().build().unwrap_err();
        assert_eq!(err.field, "connections_per_broker");
        let bad = Properties::from_pairs([("connections.per.broker", "many")]).unwrap();
        assert_eq!(bad.connection().unwrap_err().key, "connections.per.broker");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Properties::from_pairs([("linger.msec", "5")]).unwrap_err();
        assert_eq!(err.key, "linger.msec");
        let props = Properties::from_pairs([("linger.ms", "soon")]).unwrap();
        assert_eq!(props.producer().unwrap_err().key, "linger.ms");
        let props = Properties::from_pairs([("auto.offset.reset", "smallest")]).unwrap();
        assert_eq!(props.consumer().unwrap_err().key, "auto.offset.reset");
        assert_eq!(Properties::parse("novalue").unwrap_err().key, "novalue");
    }

    #[test]
    fn json_maps_read_as_properties() {
        let props: Properties = serde_json::from_str(
            r#"{"bootstrap.servers": "b:9092", "linger.ms": 5, "enable.idempotence": true}"#,
        )
        .unwrap();
        assert_eq!(props.get("linger.ms"), Some("5"));
        assert!(props.producer().unwrap().config().idempotence);
        let bad: Result<Properties, _> = serde_json::from_str(r#"{"lingerms": 5}"#);
        assert!(bad.unwrap_err().to_string().contains("lingerms"));
    }

    #[test]
    fn serializer_classes_and_refused_keys() {
        for class in [
            "org.apache.kafka.common.serialization.StringSerializer",
            "org.apache.kafka.common.serialization.ByteArraySerializer",
        ] {
            Properties::from_pairs([("value.serializer", class)]).unwrap();
        }
        let err = Properties::from_pairs([(
            "value.serializer",
            "io.confluent.kafka.serializers.KafkaAvroSerializer",
        )])
        .unwrap_err();
        assert_eq!(err.key, "value.serializer");
        assert!(err.reason.contains("KafkaAvroSerializer"));
        let err = Properties::from_pairs([("sasl.kerberos.service.name", "kafka")]).unwrap_err();
        assert!(err.reason.contains("GSSAPI"));
        let err = Properties::parse("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n")
            .unwrap()
            .connection()
            .unwrap_err();
        assert_eq!(err.key, "sasl.username");
    }

    #[test]
    fn security_keys_in_java_and_librdkafka_names() {
        use krafka_net::{SaslMechanism, SecurityProtocol};
        let lib = Properties::parse(
            "security.protocol=sasl_ssl\nsasl.mechanisms=SCRAM-SHA-256\nsasl.username=u\nsasl.password=p\nssl.ca.location=/x/ca.pem\nssl.endpoint.identification.algorithm=\n",
        )
        .unwrap();
        let c = lib.connection().unwrap();
        let security = &c.peek().security;
        assert_eq!(security.protocol, SecurityProtocol::SaslSsl);
        assert!(!security.tls.verify_hostname);
        assert!(matches!(
            security.sasl.as_ref().unwrap().mechanism,
            SaslMechanism::Scram { .. }
        ));
        assert_eq!(
            security.sasl.as_ref().unwrap().mechanism.name(),
            "SCRAM-SHA-256"
        );
        // The password is not in any debug output or error.
        assert!(!format!("{c:?}").contains("=p"));
        let jks = Properties::parse("security.protocol=SSL\nssl.truststore.location=/x.jks\n")
            .unwrap()
            .connection()
            .unwrap_err();
        assert_eq!(jks.key, "ssl.truststore.type");
        let mismatch = Properties::parse(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=a password=b;\n",
        )
        .unwrap()
        .connection()
        .unwrap_err();
        assert_eq!(mismatch.key, "sasl.jaas.config");
        assert!(!mismatch.reason.contains("password=b"));
    }

    #[test]
    fn connection_keys_and_codec_levels() {
        let props = Properties::parse(
            "reconnect.backoff.ms=20\nreconnect.backoff.max.ms=500\nconnections.max.idle.ms=60000\nsocket.connection.setup.timeout.ms=3000\nsend.buffer.bytes=-1\ncompression.type=zstd\ncompression.zstd.level=7\ncompression.gzip.level=2\nmetadata.max.age.ms=1000\n",
        )
        .unwrap();
        let c = props.connection().unwrap();
        let c = c.peek();
        assert_eq!(c.reconnect_backoff, Duration::from_millis(20));
        assert_eq!(c.reconnect_backoff_max, Duration::from_millis(500));
        assert_eq!(c.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.send_buffer_size, None);
        assert_eq!(
            props.producer().unwrap().config().compression_level,
            Some(7)
        );
    }
}
