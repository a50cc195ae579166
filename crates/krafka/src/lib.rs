//! Krafka: a pure-Rust, async Apache Kafka client.
//!
//! This is the facade most users add. It re-exports the crates Krafka is split into, so one
//! dependency brings everything, and features leave out what a service does not use:
//! - [`protocol`]: the wire codecs, record batches, compression (`krafka-protocol`);
//! - [`net`]: connections, the connection pool and cluster metadata (`krafka-net`);
//! - [`producer`] (feature `producer`): `ProducerBuilder`, `Producer` (`krafka-producer`);
//! - [`consumer`] (feature `consumer`): `ConsumerBuilder`, `Consumer`, consumer groups
//!   (`krafka-consumer`).
//!
//! [`Krafka`] is one handle on a cluster whose producers and consumers share the connections
//! and the metadata cache. [`prelude`] brings the types most programs name; [`Profile`] is a named starting point
//! for the latency/throughput and durability/availability trade-offs; [`Properties`] reads the
//! Java-style configs (`bootstrap.servers`, `linger.ms`, …) services already have.
//!
//! ```no_run
//! use krafka::prelude::*;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let producer = ProducerBuilder::new()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .connect()
//!     .await?;
//! let delivered = producer
//!     .send(ProducerRecord::new("orders").key("order-1").value("{}"))
//!     .await?
//!     .await?;
//! println!("written to {}-{} at {:?}", delivered.topic, delivered.partition, delivered.offset);
//!
//! let mut consumer = ConsumerBuilder::new()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .group_id("order-reader")
//!     .auto_offset_reset(OffsetReset::Earliest)
//!     .connect()
//!     .await?;
//! consumer.subscribe(["orders"])?;
//! let record = consumer.recv().await?;
//! println!("read {:?}", record.value());
//! consumer.close().await;
//! producer.close().await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
mod admin_groups;
mod client;
mod profile;
pub mod properties;

pub use admin::{Admin, AdminError, NewTopic};
pub use admin_groups::{GroupDescription, GroupListing, GroupMember, PartitionLag};
pub use client::{ClientError, Krafka, KrafkaBuilder};
#[cfg(feature = "consumer")]
pub use krafka_consumer as consumer;
pub use krafka_net as net;
/// TLS and SASL settings (see `docs/security.md`).
pub use krafka_net::security;
pub use krafka_net::{PemSource, SaslConfig, Secret, SecurityConfig, SecurityProtocol, TlsConfig};
#[cfg(feature = "producer")]
pub use krafka_producer as producer;
pub use krafka_protocol as protocol;
pub use profile::{Profile, UnknownProfile};
pub use properties::{Properties, PropertyError};

/// The types most programs name.
pub mod prelude {
    pub use crate::{Krafka, Profile};
    #[cfg(feature = "consumer")]
    pub use krafka_consumer::{
        AssignorKind, ConsumeError, Consumer, ConsumerBuilder, ConsumerRecord, OffsetReset,
        RebalanceListener, TopicPartition,
    };
    #[cfg(feature = "producer")]
    pub use krafka_producer::{
        Acks, Compression, ProduceError, Producer, ProducerBuilder, ProducerRecord, RecordMetadata,
    };
}

/// README.md, compiled as a doc test so its quick start stays true to the code.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

/// docs/configuration.md, compiled as a doc test so its example stays true to the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/configuration.md")]
mod configuration_doc {}

/// docs/security.md, compiled as a doc test so its example stays true to the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/security.md")]
mod security_doc {}
