//! The producer over a bundle of connections per broker (`connections_per_broker` > 1): each
//! partition is pinned to one connection, so its records stay in order with idempotent
//! sequences intact, and every connection carries requests, also after connections die.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use krafka_mock::{Control, Times};
use krafka_net::ConnectionConfig;
use krafka_producer::ProducerRecord;
use krafka_protocol::ApiKey;

use crate::common::{builder, cluster, log_values, value};

const PARTITIONS: i32 = 8;
const PER_PARTITION: u32 = 400;

/// Sends `PER_PARTITION` records to every partition, interleaved, and checks each
/// partition's log holds them once, in send order.
async fn produce_and_check(cluster: &krafka_mock::MockCluster, connections: usize) {
    let producer = builder(cluster)
        .connection(ConnectionConfig::builder().connections_per_broker(connections))
        .linger(Duration::from_millis(1))
        .connect()
        .await
        .unwrap();
    let mut futures = Vec::new();
    for n in 0..PER_PARTITION {
        for p in 0..PARTITIONS {
            let record = ProducerRecord::new("t").partition(p).value(value(n));
            futures.push(producer.send(record).await.unwrap());
        }
    }
    for f in futures {
        f.await.unwrap();
    }
    producer.close().await;
    for p in 0..PARTITIONS {
        let log = log_values(cluster, "t", p);
        assert_eq!(
            log,
            (0..PER_PARTITION).collect::<Vec<_>>(),
            "partition {p}: every record once, in send order"
        );
    }
}

/// The client connections (by the client's address) that carried Produce requests.
fn produce_connections(cluster: &krafka_mock::MockCluster) -> BTreeSet<std::net::SocketAddr> {
    cluster
        .requests()
        .iter()
        .filter(|r| r.api_key == ApiKey::PRODUCE)
        .filter_map(|r| r.peer)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_connections_all_carry_produce_requests_and_keep_each_partition_in_order() {
    let cluster = cluster(1, "t", PARTITIONS).await;
    produce_and_check(&cluster, 4).await;
    let used = produce_connections(&cluster);
    assert_eq!(
        used.len(),
        4,
        "every connection of the bundle produced: {used:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_is_still_the_default() {
    let cluster = cluster(1, "t", PARTITIONS).await;
    produce_and_check(&cluster, 1).await;
    assert_eq!(produce_connections(&cluster).len(), 1);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_of_a_bundle_lose_and_duplicate_nothing() {
    let cluster = cluster(1, "t", PARTITIONS).await;
    // Every 4th Produce is applied and then its connection dropped: the answer never comes,
    // the batches retry with their sequences, and the broker drops the duplicates.
    let seen = Arc::new(AtomicU32::new(0));
    let counted = seen.clone();
    cluster.on(ApiKey::PRODUCE, Times::Always, move |_| {
        if counted.fetch_add(1, Ordering::Relaxed) % 4 == 3 {
            Control::ApplyThenDisconnect
        } else {
            Control::Pass
        }
    });
    produce_and_check(&cluster, 4).await;
    let per_connection: HashMap<_, usize> =
        produce_connections(&cluster)
            .into_iter()
            .fold(HashMap::new(), |mut m, peer| {
                *m.entry(peer).or_default() += 1;
                m
            });
    assert!(
        per_connection.len() > 4,
        "dead connections were replaced: {per_connection:?}"
    );
    cluster.shutdown().await;
}
