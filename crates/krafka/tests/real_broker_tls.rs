//! Krafka's TLS client against an OpenSSL server it did not write: tansu behind Debian's
//! stunnel4, started by `cargo xtask test`, which names it in `KRAFKA_TLS_BOOTSTRAP` and its
//! CA in `KRAFKA_TLS_CA`. Topics are administered and records produced and consumed back, in
//! order, over TLS; a client that trusts another CA is refused with a reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use krafka::prelude::*;
use krafka::{PemSource, TlsConfig};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set; run this through `cargo xtask test`"))
}

fn tls() -> TlsConfig {
    TlsConfig::default().with_ca(PemSource::file(env("KRAFKA_TLS_CA")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip_through_an_openssl_tls_server() {
    let topic = format!("krafka-tls-{}", std::process::id());
    let kafka = Krafka::builder(env("KRAFKA_TLS_BOOTSTRAP"))
        .tls(tls())
        .connect()
        .await
        .unwrap();
    let admin = kafka.admin();
    admin
        .create_topics(&[krafka::NewTopic::new(&topic, 2)])
        .await
        .unwrap();
    assert!(admin.list_topics().await.unwrap().contains(&topic));
    let producer = kafka
        .producer_with(|p| p.linger(Duration::from_millis(5)))
        .unwrap();
    const PER_PARTITION: usize = 2_000;
    let mut acks = Vec::new();
    for p in 0..2 {
        for i in 0..PER_PARTITION {
            let value = format!("{i:06}-{}", "v".repeat(300));
            acks.push(
                producer
                    .send(
                        ProducerRecord::new(topic.as_str())
                            .partition(p)
                            .value(value),
                    )
                    .await
                    .unwrap(),
            );
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
    producer.close().await;

    // A short fetch wait: tansu sleeps through part of a long one even with data ready.
    let mut consumer = kafka
        .consumer_with("krafka-tls-readers", |c| {
            c.auto_offset_reset(OffsetReset::Earliest)
                .fetch_max_wait(Duration::from_millis(10))
        })
        .unwrap();
    consumer
        .assign((0..2).map(|p| TopicPartition::new(topic.as_str(), p)))
        .unwrap();
    let mut next = [0usize; 2];
    while next.iter().sum::<usize>() < 2 * PER_PARTITION {
        let batch = tokio::time::timeout(Duration::from_secs(30), consumer.poll(500))
            .await
            .expect("records over TLS")
            .unwrap();
        for record in batch.iter() {
            let p = usize::try_from(record.partition()).unwrap();
            let value = std::str::from_utf8(record.value().unwrap()).unwrap();
            let seq: usize = value[..6].parse().unwrap();
            // tansu may hand a batch out again (its high-watermark quirk); never skip one.
            assert!(seq <= next[p], "partition {p}: {seq} after {}", next[p]);
            if seq == next[p] {
                next[p] += 1;
            }
        }
    }
    consumer.close().await;
    kafka.close().await;
}

#[tokio::test]
async fn an_untrusted_server_certificate_is_refused_with_a_reason() {
    let other = krafka_mock::TestPki::generate().unwrap();
    let err = Krafka::builder(env("KRAFKA_TLS_BOOTSTRAP"))
        .tls(TlsConfig::default().with_ca(PemSource::inline(other.ca_pem)))
        .connect()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not signed by a trusted CA"),
        "{err}"
    );
}
