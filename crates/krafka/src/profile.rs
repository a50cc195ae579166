//! Tuning profiles: named starting points that make the latency/throughput and
//! durability/availability trade-offs explicit. A profile only moves the settings
//! [`Profile::settings`] lists (in Java's names); anything set on the builder afterwards wins.
//!
//! ```
//! use krafka::Profile;
//! use krafka::producer::ProducerBuilder;
//!
//! let builder = Profile::Throughput.producer(ProducerBuilder::new()).linger(std::time::Duration::from_millis(10));
//! assert_eq!(builder.config().batch_size, 256 * 1024);
//! assert_eq!(builder.config().linger, std::time::Duration::from_millis(10));
//! ```

use std::fmt;
use std::str::FromStr;
#[cfg(any(feature = "producer", feature = "consumer"))]
use std::time::Duration;

/// A named set of settings for one trade-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Java's defaults: acks=all, idempotence, linger 5 ms, 16 KiB batches, fetch.min.bytes 1,
    /// fetch.max.wait 500 ms.
    #[default]
    Balanced,
    /// More records per request and per byte: 256 KiB batches, linger 20 ms, lz4, 64 MiB of
    /// buffer memory; fetches wait for 64 KiB (fetch.min.bytes) up to 1 s.
    Throughput,
    /// Records leave and arrive as soon as they can: linger 0, fetch.max.wait 10 ms.
    Latency,
    /// Nothing acknowledged is lost while a broker is: acks=all, idempotence, and topics
    /// created with replication factor 3 and min.insync.replicas 2.
    Durability,
    /// Keep writing while replicas lag: acks=1 (so no idempotence), delivery timeout 5 min,
    /// request timeout 60 s, session timeout 60 s.
    Availability,
}

impl Profile {
    /// Every profile, in the order `--sweep` and the docs list them.
    pub const ALL: [Profile; 5] = [
        Profile::Balanced,
        Profile::Throughput,
        Profile::Latency,
        Profile::Durability,
        Profile::Availability,
    ];

    /// Its name, as `FromStr` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Balanced => "balanced",
            Profile::Throughput => "throughput",
            Profile::Latency => "latency",
            Profile::Durability => "durability",
            Profile::Availability => "availability",
        }
    }

    /// The settings this profile changes from the defaults, as (Java name, value).
    pub fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Profile::Balanced => &[],
            Profile::Throughput => &[
                ("batch.size", "262144"),
                ("linger.ms", "20"),
                ("compression.type", "lz4"),
                ("buffer.memory", "67108864"),
                ("fetch.min.bytes", "65536"),
                ("fetch.max.wait.ms", "1000"),
            ],
            Profile::Latency => &[("linger.ms", "0"), ("fetch.max.wait.ms", "10")],
            Profile::Durability => &[
                ("acks", "all"),
                ("enable.idempotence", "true"),
                ("replication.factor (new topics)", "3"),
                ("min.insync.replicas (new topics)", "2"),
            ],
            Profile::Availability => &[
                ("acks", "1"),
                ("enable.idempotence", "false"),
                ("delivery.timeout.ms", "300000"),
                ("request.timeout.ms", "60000"),
                ("session.timeout.ms", "60000"),
            ],
        }
    }

    /// The replication factor and `min.insync.replicas` for topics this profile creates
    /// (`None`: the broker's defaults).
    pub fn topic_durability(self) -> Option<(i16, &'static str)> {
        match self {
            Profile::Durability => Some((3, "2")),
            _ => None,
        }
    }

    /// Applies the profile to a producer builder.
    #[cfg(feature = "producer")]
    pub fn producer(
        self,
        builder: krafka_producer::ProducerBuilder,
    ) -> krafka_producer::ProducerBuilder {
        use krafka_producer::{Acks, Compression};
        match self {
            Profile::Balanced => builder,
            Profile::Throughput => builder
                .batch_size(256 * 1024)
                .linger(Duration::from_millis(20))
                .compression(Compression::Lz4)
                .buffer_memory(64 * 1024 * 1024),
            Profile::Latency => builder.linger(Duration::ZERO),
            Profile::Durability => builder.acks(Acks::All).idempotence(true),
            Profile::Availability => builder
                .acks(Acks::Leader)
                .idempotence(false)
                .delivery_timeout(Duration::from_secs(300))
                .request_timeout(Duration::from_secs(60)),
        }
    }

    /// Applies the profile to a consumer builder.
    #[cfg(feature = "consumer")]
    pub fn consumer(
        self,
        builder: krafka_consumer::ConsumerBuilder,
    ) -> krafka_consumer::ConsumerBuilder {
        match self {
            Profile::Balanced | Profile::Durability => builder,
            Profile::Throughput => builder
                .fetch_min_bytes(64 * 1024)
                .fetch_max_wait(Duration::from_millis(1000)),
            Profile::Latency => builder.fetch_max_wait(Duration::from_millis(10)),
            Profile::Availability => builder
                .request_timeout(Duration::from_secs(60))
                .session_timeout(Duration::from_secs(60)),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of [`Profile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown profile '{}' (known: balanced, throughput, latency, durability, availability)",
            self.0
        )
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(all(test, feature = "producer", feature = "consumer"))]
mod tests {
    use super::*;
    use krafka_consumer::ConsumerBuilder;
    use krafka_producer::{Acks, Compression, ProducerBuilder};

    #[test]
    fn every_profile_yields_settings_that_validate_and_change_what_it_lists() {
        for profile in Profile::ALL {
            let producer = profile.producer(ProducerBuilder::new());
            producer
                .config()
                .validate()
                .unwrap_or_else(|e| panic!("{profile}: {e}"));
            let consumer = profile.consumer(ConsumerBuilder::new());
            consumer
                .config()
                .validate()
                .unwrap_or_else(|e| panic!("{profile}: {e}"));
            assert_eq!(profile.name().parse::<Profile>(), Ok(profile));
        }
        let p = Profile::Throughput.producer(ProducerBuilder::new());
        assert_eq!(p.config().compression, Compression::Lz4);
        assert_eq!(p.config().batch_size, 262_144);
        let c = Profile::Latency.consumer(ConsumerBuilder::new());
        assert_eq!(c.config().fetch_max_wait, Duration::from_millis(10));
        let a = Profile::Availability.producer(ProducerBuilder::new());
        assert_eq!(
            (a.config().acks, a.config().idempotence),
            (Acks::Leader, false)
        );
        assert_eq!(Profile::Durability.topic_durability(), Some((3, "2")));
        assert!("fast".parse::<Profile>().is_err());
    }
}
