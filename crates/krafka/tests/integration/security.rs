//! The facade over secured clusters (krafka-mock with TLS and SASL): a Java-style properties
//! file builds the handle, producer and consumer round-trip records over SASL_SSL, and bad
//! credentials are one clear error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use krafka::prelude::*;
use krafka::{PemSource, Properties, SaslConfig, TlsConfig};
use krafka_mock::{MockCluster, MockSasl, MockTls, SaslMechanismName, TestPki};

async fn secured(pki: &TestPki) -> MockCluster {
    MockCluster::builder()
        .topic("orders", 3)
        .tls(MockTls::new(pki.clone()))
        .sasl(MockSasl::new([SaslMechanismName::ScramSha512]).user("alice", "alice-secret"))
        .start()
        .await
        .unwrap()
}

fn ca_file(pki: &TestPki, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("krafka-facade-{name}-{}", std::process::id()));
    pki.write(&dir).unwrap();
    dir.join("ca.pem")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_java_service_properties_file_connects_over_sasl_ssl() {
    let pki = TestPki::generate().unwrap();
    let cluster = secured(&pki).await;
    let ca = ca_file(&pki, "java");
    let text = format!(
        "# written as a Java service writes it\n\
         bootstrap.servers={}\n\
         security.protocol : SASL_SSL\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
         \x20   username=\"alice\" \\\n\
         \x20   password=\"alice-secret\";\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.location={}\n\
         key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
         value.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n",
        cluster.bootstrap(),
        ca.display()
    );
    let props = Properties::parse(&text).unwrap();
    let kafka = props.krafka().unwrap().connect().await.unwrap();
    assert_eq!(kafka.admin().list_topics().await.unwrap(), ["orders"]);
    kafka.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip_over_sasl_ssl_in_order() {
    let pki = TestPki::generate().unwrap();
    let cluster = secured(&pki).await;
    let kafka = Krafka::builder(cluster.bootstrap())
        .tls(TlsConfig::default().with_ca(PemSource::inline(pki.ca_pem.clone())))
        .sasl(SaslConfig::scram_sha512("alice", "alice-secret"))
        .connect()
        .await
        .unwrap();
    let producer = kafka
        .producer_with(|p| p.linger(Duration::from_millis(2)))
        .unwrap();
    const N: usize = 20_000;
    let mut acks = Vec::with_capacity(N);
    for i in 0..N {
        let value = format!("{i:08}-{}", "x".repeat(200));
        acks.push(
            producer
                .send(
                    ProducerRecord::new("orders")
                        .key(format!("k{}", i % 7))
                        .value(value),
                )
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let mut consumer = kafka
        .consumer_with("readers", |c| c.auto_offset_reset(OffsetReset::Earliest))
        .unwrap();
    consumer.subscribe(["orders"]).unwrap();
    let mut last: std::collections::HashMap<Vec<u8>, u64> = Default::default();
    let mut got = 0;
    while got < N {
        let batch = tokio::time::timeout(Duration::from_secs(30), consumer.poll(1000))
            .await
            .expect("records")
            .unwrap();
        for record in batch.iter() {
            let value = std::str::from_utf8(record.value().unwrap()).unwrap();
            let seq: u64 = value[..8].parse().unwrap();
            let key = record.key().unwrap().to_vec();
            if let Some(prev) = last.insert(key, seq) {
                assert!(seq > prev, "out of order: {seq} after {prev}");
            }
            got += 1;
        }
    }
    assert_eq!(got, N);
    consumer.close().await;
    producer.close().await;
    kafka.close().await;
}

#[tokio::test]
async fn a_wrong_password_is_one_clear_error() {
    let pki = TestPki::generate().unwrap();
    let cluster = secured(&pki).await;
    let started = std::time::Instant::now();
    let err = Krafka::builder(cluster.bootstrap())
        .tls(TlsConfig::default().with_ca(PemSource::inline(pki.ca_pem.clone())))
        .sasl(SaslConfig::scram_sha512("alice", "wrong"))
        .connect()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = err.to_string();
    assert!(
        text.contains("authentication") && text.contains("failed"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_keep_flowing_in_order_across_reauthentications() {
    let pki = TestPki::generate().unwrap();
    let cluster = MockCluster::builder()
        .topic("orders", 2)
        .tls(MockTls::new(pki.clone()))
        .sasl(
            MockSasl::new([SaslMechanismName::ScramSha256])
                .user("alice", "alice-secret")
                .session_lifetime(Duration::from_millis(400)),
        )
        .start()
        .await
        .unwrap();
    let kafka = Krafka::builder(cluster.bootstrap())
        .tls(TlsConfig::default().with_ca(PemSource::inline(pki.ca_pem.clone())))
        .sasl(SaslConfig::scram_sha256("alice", "alice-secret"))
        .connect()
        .await
        .unwrap();
    let handshakes = |c: &MockCluster| {
        c.requests()
            .iter()
            .filter(|r| r.api_key == krafka::protocol::ApiKey::SASL_HANDSHAKE)
            .count()
    };
    let at_start = handshakes(&cluster);
    let producer = kafka
        .producer_with(|p| p.linger(Duration::from_millis(1)))
        .unwrap();
    let mut consumer = kafka
        .consumer_with("reauth-readers", |c| {
            c.auto_offset_reset(OffsetReset::Earliest)
                .fetch_max_wait(Duration::from_millis(50))
        })
        .unwrap();
    consumer.subscribe(["orders"]).unwrap();
    // 2.4 s of producing (six session lifetimes), each record acknowledged before the next
    // batch, while the consumer reads.
    let started = std::time::Instant::now();
    let mut sent = 0u64;
    let mut acks = Vec::new();
    while started.elapsed() < Duration::from_millis(2400) {
        for _ in 0..50 {
            let value = format!("{sent:010}");
            acks.push(
                producer
                    .send(
                        ProducerRecord::new("orders")
                            .key(format!("k{}", sent % 5))
                            .value(value),
                    )
                    .await
                    .unwrap(),
            );
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let mut last: std::collections::HashMap<Vec<u8>, u64> = Default::default();
    let mut got = 0u64;
    while got < sent {
        let batch = tokio::time::timeout(Duration::from_secs(30), consumer.poll(1000))
            .await
            .expect("records")
            .unwrap();
        for record in batch.iter() {
            let seq: u64 = std::str::from_utf8(record.value().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            if let Some(prev) = last.insert(record.key().unwrap().to_vec(), seq) {
                assert!(seq > prev, "{seq} after {prev}: reordered or duplicated");
            }
            got += 1;
        }
    }
    assert_eq!(got, sent);
    // Every connection re-authenticated several times (the mock closes a lapsed session).
    assert!(
        handshakes(&cluster) >= at_start + 6,
        "{} -> {}",
        at_start,
        handshakes(&cluster)
    );
    consumer.close().await;
    producer.close().await;
    kafka.close().await;
}
