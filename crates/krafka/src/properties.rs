//! Configuration from Java-style properties (`bootstrap.servers`, `linger.ms`, `group.id`, …),
//! so services can bring the configs they already have: from key/value pairs, from the text of
//! a `.properties` file, or from any serde format that holds a flat map (TOML, JSON) through
//! [`Properties`]'s `Deserialize`.
//!
//! Every key either client knows is accepted by both (a shared file configures the producer and
//! the consumer; each takes its own keys, as Java's clients do). A key neither knows, or a value
//! that does not parse, is a [`PropertyError`] naming the key. Settings are then checked by the
//! builders' own validation when the client connects.

use std::collections::BTreeMap;
use std::fmt;
#[cfg(any(feature = "producer", feature = "consumer"))]
use std::time::Duration;

/// A set of Java-style client properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, String>,
}

/// A property that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    /// The key.
    pub key: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "property {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for PropertyError {}

const COMMON: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
];
const PRODUCER: &[&str] = &[
    "acks",
    "batch.size",
    "linger.ms",
    "enable.idempotence",
    "compression.type",
    "compression.level",
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
    COMMON.contains(&key) || PRODUCER.contains(&key) || CONSUMER.contains(&key)
}

/// For each `"key" => setter` whose key is set, reads the value with `read` (`text`,
/// `millis` or `parsed`) and calls the builder's setter with it.
#[cfg(any(feature = "producer", feature = "consumer"))]
macro_rules! apply {
    ($props:ident, $builder:ident, $read:ident: $($key:literal => $setter:ident),* $(,)?) => {
        $(
            if let Some(value) = $props.$read($key)? {
                $builder = $builder.$setter(value);
            }
        )*
    };
}

impl Properties {
    /// Properties from key/value pairs; unknown keys are refused here.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PropertyError> {
        let mut entries = BTreeMap::new();
        for (k, v) in pairs {
            let key: String = k.into();
            if !known(&key) {
                return Err(PropertyError {
                    reason: "not a setting Krafka knows".into(),
                    key,
                });
            }
            entries.insert(key, v.into().trim().to_owned());
        }
        Ok(Self { entries })
    }

    /// Properties from the text of a Java `.properties` file (`key=value` or `key: value`
    /// lines; `#` and `!` start comments).
    pub fn parse(text: &str) -> Result<Self, PropertyError> {
        let mut pairs = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let split = line.find(['=', ':']).ok_or_else(|| PropertyError {
                key: line.to_owned(),
                reason: "expected key=value".into(),
            })?;
            pairs.push((
                line[..split].trim().to_owned(),
                line[split + 1..].to_owned(),
            ));
        }
        Self::from_pairs(pairs)
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    #[cfg(any(feature = "producer", feature = "consumer"))]
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

    #[cfg(any(feature = "producer", feature = "consumer"))]
    fn millis(&self, key: &str) -> Result<Option<Duration>, PropertyError> {
        Ok(self.parsed::<u64>(key)?.map(Duration::from_millis))
    }

    #[cfg(any(feature = "producer", feature = "consumer"))]
    fn invalid(key: &str, value: &str) -> PropertyError {
        PropertyError {
            key: key.to_owned(),
            reason: format!("'{value}' is not a valid value"),
        }
    }

    /// The value of `key` as text (for `apply!`).
    #[cfg(any(feature = "producer", feature = "consumer"))]
    fn text(&self, key: &str) -> Result<Option<&str>, PropertyError> {
        Ok(self.get(key))
    }

    /// A producer builder with these properties applied (consumer keys are ignored).
    #[cfg(feature = "producer")]
    pub fn producer(&self) -> Result<krafka_producer::ProducerBuilder, PropertyError> {
        use krafka_producer::{Acks, Compression};
        let mut b = krafka_producer::ProducerBuilder::new();
        apply!(self, b, text: "bootstrap.servers" => bootstrap_servers, "client.id" => client_id);
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
        }
        Ok(b)
    }

    /// A consumer builder with these properties applied (producer keys are ignored).
    #[cfg(feature = "consumer")]
    pub fn consumer(&self) -> Result<krafka_consumer::ConsumerBuilder, PropertyError> {
        use krafka_consumer::{AssignorKind, IsolationLevel, OffsetReset};
        let mut b = krafka_consumer::ConsumerBuilder::new();
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
}
