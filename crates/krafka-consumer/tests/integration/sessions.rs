//! KIP-227 fetch sessions against krafka-mock: requests really become incremental, every way a
//! session can be lost recovers with a full fetch, and no record is skipped or repeated on the
//! way. Every Fetch the brokers receive is recorded by a hook.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use krafka_mock::{Control, MockCluster, RequestInfo, Times};
use krafka_protocol::compression::Compression;
use krafka_protocol::messages::RequestBody;
use krafka_protocol::{ApiKey, Encode, ErrorCode, Uuid};
use parking_lot::Mutex;

/// What one Fetch request said.
#[derive(Debug, Clone)]
struct SeenFetch {
    broker: i32,
    version: i16,
    session_id: i32,
    epoch: i32,
    /// Partitions listed.
    listed: Vec<i32>,
    /// Partitions forgotten.
    forgotten: Vec<i32>,
    /// Whether every topic was named by id.
    by_id: bool,
    bytes: usize,
}

impl SeenFetch {
    fn incremental(&self) -> bool {
        self.session_id != 0 && self.epoch > 0
    }
}

type Seen = Arc<Mutex<Vec<SeenFetch>>>;

fn seen_fetch(info: &RequestInfo<'_>) -> Option<SeenFetch> {
    let RequestBody::Fetch(r) = info.body else {
        return None;
    };
    Some(SeenFetch {
        broker: info.broker,
        version: info.version,
        session_id: r.session_id,
        epoch: r.session_epoch,
        listed: r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.partition))
            .collect(),
        forgotten: r
            .forgotten_topics_data
            .iter()
            .flat_map(|t| t.partitions.iter().copied())
            .collect(),
        by_id: r
            .topics
            .iter()
            .all(|t| t.topic_id != Uuid::ZERO && t.topic.is_empty()),
        bytes: r.encoded_size(info.version).unwrap(),
    })
}

/// Records every Fetch, answering `control(n, fetch)` for the n-th (from 0).
fn record_fetches(
    cluster: &MockCluster,
    control: impl Fn(usize, &SeenFetch) -> Control + Send + Sync + 'static,
) -> Seen {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    cluster.on(ApiKey::FETCH, Times::Always, move |info| {
        let Some(fetch) = seen_fetch(info) else {
            return Control::Pass;
        };
        let mut log = log.lock();
        let decision = control(log.len(), &fetch);
        log.push(fetch);
        decision
    });
    seen
}

/// Waits until `check` holds for the recorded fetches (or fails after 10 s).
async fn wait_for(seen: &Seen, what: &str, check: impl Fn(&[SeenFetch]) -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !check(&seen.lock()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: {:#?}", seen.lock()));
}

#[tokio::test]
async fn after_one_full_fetch_requests_list_only_the_partitions_that_changed() {
    let cluster = cluster(1, "s", 20).await;
    let seen = record_fetches(&cluster, |_, _| Control::Pass);
    for p in 0..20 {
        append(&cluster, "s", p, 0, 10, 10, Compression::None);
    }
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("s", 20)).unwrap();
    let mut records = receive(&mut consumer, 200).await;
    // Idle long polls of the session list nothing.
    wait_for(&seen, "an empty incremental fetch", |f| {
        f.iter().any(|f| f.incremental() && f.listed.is_empty())
    })
    .await;
    let before = seen.lock().len();
    append(&cluster, "s", 3, 10, 10, 10, Compression::None);
    records.extend(receive(&mut consumer, 10).await);
    for p in 0..20 {
        let extra = if p == 3 { 10 } else { 0 };
        let got: Vec<i64> = records
            .iter()
            .filter(|r| r.partition() == p)
            .map(|r| r.offset())
            .collect();
        assert_eq!(got, (0..10 + extra).collect::<Vec<i64>>(), "partition {p}");
    }
    // Partition 3's new position is the only thing the next fetches tell the broker.
    wait_for(&seen, "partition 3 sent alone", |f| {
        f[before..].iter().any(|f| f.listed == [3])
    })
    .await;
    let fetches = seen.lock().clone();
    let first = &fetches[0];
    assert_eq!((first.session_id, first.epoch), (0, 0), "opens a session");
    assert_eq!(first.listed.len(), 20);
    let session = fetches[1].session_id;
    assert_ne!(session, 0);
    for (i, f) in fetches.iter().enumerate().skip(1) {
        assert_eq!(f.session_id, session, "fetch {i}");
        assert_eq!(f.epoch, i as i32, "fetch {i}: epochs count up by one");
        assert!(f.version >= 13 && f.by_id, "fetch {i}: topics by id");
    }
    let idle = fetches
        .iter()
        .find(|f| f.incremental() && f.listed.is_empty());
    let idle = idle.unwrap();
    assert!(
        idle.bytes * 10 <= first.bytes,
        "an idle incremental fetch ({} B) is 10x smaller than the full one ({} B)",
        idle.bytes,
        first.bytes
    );
    let metrics = consumer.metrics();
    assert_eq!(metrics.full_fetches, 1);
    assert!(metrics.incremental_fetches >= 2);
    assert_eq!(metrics.session_errors, 0);
    assert_eq!(cluster.fetch_sessions(1), 1);
    consumer.close().await;
}

/// Appends `rounds` rounds of 25 records to each partition, consuming each round and running
/// `between` before the next; then checks every record arrived once, in order.
async fn consume_in_rounds(
    cluster: &MockCluster,
    partitions: i32,
    rounds: usize,
    between: impl Fn(usize),
) -> krafka_consumer::Consumer {
    let mut consumer = builder(cluster).connect().await.unwrap();
    consumer.assign(tps("s", partitions)).unwrap();
    let mut records = Vec::new();
    for round in 0..rounds {
        for p in 0..partitions {
            append(cluster, "s", p, round * 25, 25, 5, Compression::None);
        }
        records.extend(receive(&mut consumer, 25 * partitions as usize).await);
        between(round);
    }
    assert_complete_in_order(&records, partitions, 25 * rounds);
    // Nothing more arrives: no record was repeated after the last round either.
    let extra = tokio::time::timeout(Duration::from_millis(300), consumer.recv()).await;
    assert!(extra.is_err(), "a record arrived twice: {extra:?}");
    consumer
}

#[tokio::test]
async fn an_evicted_session_is_replaced_by_a_full_fetch_skipping_and_repeating_nothing() {
    let cluster = cluster(1, "s", 4).await;
    let seen = record_fetches(&cluster, |_, _| Control::Pass);
    let consumer = consume_in_rounds(&cluster, 4, 4, |_| {
        cluster.evict_fetch_sessions();
    })
    .await;
    let metrics = consumer.metrics();
    assert!(metrics.session_errors >= 3, "{metrics:?}");
    let fetches = seen.lock().clone();
    // Each FETCH_SESSION_ID_NOT_FOUND is followed by a full fetch opening a new session.
    let reopened = fetches
        .windows(2)
        .filter(|w| w[0].incremental() && w[1].session_id == 0 && w[1].epoch == 0)
        .count();
    assert!(reopened >= 3, "{fetches:#?}");
    assert!(
        fetches
            .iter()
            .filter(|f| f.epoch == 0)
            .all(|f| f.listed.len() == 4)
    );
    consumer.close().await;
}

#[tokio::test]
async fn an_invalid_epoch_closes_the_session_and_opens_a_new_one() {
    let cluster = cluster(1, "s", 3).await;
    let refused = Arc::new(AtomicUsize::new(0));
    let count = refused.clone();
    // Refuse every third incremental fetch, as a broker that lost track of our epoch would.
    let seen = record_fetches(&cluster, move |n, f| {
        if f.incremental() && n % 3 == 0 {
            count.fetch_add(1, Ordering::Relaxed);
            Control::Error(ErrorCode::INVALID_FETCH_SESSION_EPOCH)
        } else {
            Control::Pass
        }
    });
    let consumer = consume_in_rounds(&cluster, 3, 4, |_| {}).await;
    assert!(refused.load(Ordering::Relaxed) >= 1);
    let fetches = seen.lock().clone();
    for (i, w) in fetches.windows(2).enumerate() {
        if w[0].incremental() && (i % 3) == 0 {
            // The refused session is named, at epoch 0: close it and open another.
            assert_eq!(
                (w[1].session_id, w[1].epoch),
                (w[0].session_id, 0),
                "{w:#?}"
            );
            assert_eq!(w[1].listed.len(), 3);
        }
    }
    assert!(consumer.metrics().session_errors >= 1);
    consumer.close().await;
}

#[tokio::test]
async fn a_connection_lost_after_the_broker_took_a_fetch_resets_the_session() {
    let cluster = cluster(1, "s", 3).await;
    // The broker applies the fetch (advancing the session's epoch) but the answer never
    // arrives: the client cannot know the epoch, so it must close and reopen.
    let seen = record_fetches(&cluster, |n, f| {
        if f.incremental() && n % 4 == 0 {
            Control::ApplyThenDisconnect
        } else {
            Control::Pass
        }
    });
    let consumer = consume_in_rounds(&cluster, 3, 4, |_| {}).await;
    let fetches = seen.lock().clone();
    let dropped: Vec<usize> = (0..fetches.len())
        .filter(|&i| fetches[i].incremental() && i % 4 == 0)
        .collect();
    assert!(!dropped.is_empty(), "{fetches:#?}");
    for &i in &dropped {
        if let Some(next) = fetches.get(i + 1) {
            assert_eq!((next.session_id, next.epoch), (fetches[i].session_id, 0));
        }
    }
    consumer.close().await;
}

#[tokio::test]
async fn a_broker_without_room_for_sessions_is_fetched_in_full() {
    let cluster = krafka_mock::MockCluster::builder()
        .brokers(1)
        .topic("s", 3)
        .fetch_session_slots(0)
        .start()
        .await
        .unwrap();
    let seen = record_fetches(&cluster, |_, _| Control::Pass);
    let consumer = consume_in_rounds(&cluster, 3, 2, |_| {}).await;
    let fetches = seen.lock().clone();
    assert!(fetches.len() >= 2);
    for f in &fetches {
        assert_eq!((f.session_id, f.epoch, f.listed.len()), (0, 0, 3), "{f:?}");
    }
    assert_eq!(consumer.metrics().incremental_fetches, 0);
    consumer.close().await;
}

#[tokio::test]
async fn pausing_forgets_a_partition_and_resuming_adds_it_back() {
    let cluster = cluster(1, "s", 2).await;
    let seen = record_fetches(&cluster, |_, _| Control::Pass);
    append(&cluster, "s", 0, 0, 5, 5, Compression::None);
    append(&cluster, "s", 1, 0, 5, 5, Compression::None);
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("s", 2)).unwrap();
    receive(&mut consumer, 10).await;
    let p1 = krafka_consumer::TopicPartition::new("s", 1);
    consumer.pause(&p1).unwrap();
    wait_for(&seen, "partition 1 forgotten", |f| {
        f.iter().any(|f| f.incremental() && f.forgotten == [1])
    })
    .await;
    append(&cluster, "s", 1, 5, 5, 5, Compression::None);
    let paused = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await;
    assert!(paused.is_err(), "a paused partition delivered {paused:?}");
    let before = seen.lock().len();
    consumer.resume(&p1).unwrap();
    let records = receive(&mut consumer, 5).await;
    assert!(records.iter().all(|r| r.partition() == 1));
    assert_eq!(records[0].offset(), 5);
    let fetches = seen.lock().clone();
    assert!(
        fetches[before..]
            .iter()
            .any(|f| f.incremental() && f.listed == [1]),
        "{fetches:#?}"
    );
    consumer.close().await;
}

#[tokio::test]
async fn sessions_on_three_brokers_survive_leader_moves_and_close_with_the_consumer() {
    let cluster = cluster(3, "s", 6).await;
    let seen = record_fetches(&cluster, |_, _| Control::Pass);
    let consumer = consume_in_rounds(&cluster, 6, 4, |round| {
        // Move two partitions each round, so sessions lose and gain partitions.
        for p in [round as i32 % 6, (round as i32 + 3) % 6] {
            let leader = cluster.state().topic("s").unwrap().partitions[p as usize].leader();
            cluster.move_leader("s", p, leader % 3 + 1);
        }
    })
    .await;
    for broker in 1..=3 {
        assert_eq!(cluster.fetch_sessions(broker), 1, "broker {broker}");
    }
    let fetches = seen.lock().clone();
    assert!(
        fetches.iter().any(|f| !f.forgotten.is_empty()),
        "{fetches:#?}"
    );
    assert!(fetches.iter().filter(|f| f.incremental()).count() > 6);
    consumer.close().await;
    for broker in 1..=3 {
        assert_eq!(
            cluster.fetch_sessions(broker),
            0,
            "broker {broker} after close"
        );
    }
    let closing: Vec<_> = seen
        .lock()
        .iter()
        .filter(|f| f.epoch == -1)
        .cloned()
        .collect();
    assert_eq!(closing.len(), 3, "{closing:#?}");
    let mut brokers: Vec<i32> = closing.iter().map(|f| f.broker).collect();
    brokers.sort();
    assert_eq!(brokers, [1, 2, 3]);
}
