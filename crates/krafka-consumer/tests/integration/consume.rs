//! The consumer against krafka-mock: fetching, offset lookups, backpressure, seeking, pausing,
//! leader moves, cancel safety and compressed batches.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use krafka_consumer::{ConsumeError, OffsetReset, TopicPartition};
use krafka_mock::{Control, Times};
use krafka_protocol::ApiKey;
use krafka_protocol::compression::Compression;

#[tokio::test]
async fn reads_every_record_of_every_partition_in_order_with_every_codec() {
    let cluster = cluster(3, "t", 5).await;
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    for (p, codec) in codecs.iter().enumerate() {
        append(&cluster, "t", p as i32, 0, 1000, 100, *codec);
    }
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("t", 5)).unwrap();
    let records = receive(&mut consumer, 5000).await;
    assert_complete_in_order(&records, 5, 1000);
    for tp in tps("t", 5) {
        assert_eq!(consumer.position(&tp).unwrap(), Some(1000));
        assert_eq!(consumer.lag(&tp), Some(0));
    }
    assert_eq!(consumer.metrics().records, 5000);
    consumer.close().await;
}

#[tokio::test]
async fn one_fetch_per_leader_carries_all_its_partitions() {
    let cluster = cluster(3, "t", 9).await;
    for p in 0..9 {
        append(&cluster, "t", p, 0, 10, 10, Compression::None);
    }
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("t", 9)).unwrap();
    receive(&mut consumer, 90).await;
    // Every fetch sent names partitions of one broker only, and before the first answer at most
    // one fetch per broker was in flight: the first three fetches went to three brokers.
    let fetches: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::FETCH)
        .collect();
    let mut first: Vec<i32> = fetches.iter().take(3).map(|r| r.broker).collect();
    first.sort();
    assert_eq!(first, [1, 2, 3]);
    consumer.close().await;
}

#[tokio::test]
async fn offset_lookups_for_50_partitions_on_3_brokers_take_3_requests() {
    let cluster = cluster(3, "t", 50).await;
    let mut consumer = builder(&cluster)
        .auto_offset_reset(OffsetReset::Latest)
        .connect()
        .await
        .unwrap();
    consumer.assign(tps("t", 50)).unwrap();
    let all_resolved = async {
        loop {
            if tps("t", 50)
                .iter()
                .all(|tp| consumer.position(tp).unwrap().is_some())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), all_resolved)
        .await
        .unwrap();
    let lookups: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::LIST_OFFSETS)
        .collect();
    assert_eq!(lookups.len(), 3, "one ListOffsets per broker");
    let mut brokers: Vec<i32> = lookups.iter().map(|r| r.broker).collect();
    brokers.sort();
    assert_eq!(brokers, [1, 2, 3]);
    let m = consumer.metrics();
    assert_eq!((m.offset_requests, m.offset_partitions), (3, 50));
    consumer.close().await;
}

#[tokio::test]
async fn a_failing_lookup_backs_off_alone() {
    // One partition per broker, so each lookup request to broker 2 is that partition's.
    let cluster = cluster(3, "t", 3).await;
    for p in 0..3 {
        append(&cluster, "t", p, 0, 5, 5, Compression::None);
    }
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = failures.clone();
    // Broker 2's first three lookups fail; the others answer at once.
    cluster.on(ApiKey::LIST_OFFSETS, Times::Always, move |info| {
        if info.broker == 2 && counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3 {
            Control::Error(krafka_protocol::ErrorCode::LEADER_NOT_AVAILABLE)
        } else {
            Control::Pass
        }
    });
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("t", 3)).unwrap();
    let state = cluster.state();
    let topic = state.topic("t").unwrap();
    let slow = (0..3).find(|p| topic.partitions[*p].leader() == 2).unwrap() as i32;
    // The healthy partitions' records arrive while broker 2's partition is still backing off.
    let early = receive(&mut consumer, 10).await;
    assert!(early.iter().all(|r| r.partition() != slow), "not held up");
    let rest = receive(&mut consumer, 5).await;
    assert!(rest.iter().all(|r| r.partition() == slow));
    // Broker 2 was asked four times, waiting about 100, 200 and 400 ms (±20%) in between.
    let at: Vec<Instant> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::LIST_OFFSETS && r.broker == 2)
        .map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 4, "{at:?}");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, nominal) in gaps.iter().zip([100u64, 200, 400]) {
        let nominal = Duration::from_millis(nominal);
        assert!(*gap >= nominal * 4 / 5, "gaps {gaps:?}");
        assert!(*gap <= nominal * 3, "gaps {gaps:?}");
    }
    assert_eq!(consumer.metrics().offset_errors, 3);
    consumer.close().await;
}

#[tokio::test]
async fn a_slow_application_bounds_the_buffer_and_stalls_fetching() {
    let cluster = cluster(1, "t", 4).await;
    for p in 0..4 {
        // 4,000 records of ~50 B in batches of 100: about 200 KiB per partition.
        append(&cluster, "t", p, 0, 4000, 100, Compression::None);
    }
    let budget = 64 * 1024;
    let mut consumer = builder(&cluster)
        .max_buffered_bytes(budget)
        .connect()
        .await
        .unwrap();
    consumer.assign(tps("t", 4)).unwrap();
    // The application is busy: it takes nothing for a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let buffered = consumer.buffered_bytes();
    // Each partition may overshoot its share by at most one fetch of its remaining room, and a
    // batch here is ~6 KiB.
    assert!(
        buffered > 0 && buffered <= budget + 4 * 8 * 1024,
        "buffered {buffered}"
    );
    let stalls = consumer.metrics().budget_stalls;
    assert!(stalls > 0, "fetching stopped for the budget");
    let fetches_while_busy = consumer.metrics().fetch_requests;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        consumer.metrics().fetch_requests,
        fetches_while_busy,
        "no fetching while full"
    );
    // Draining lets fetching resume, and everything arrives once, in order.
    let records = receive(&mut consumer, 16_000).await;
    assert_complete_in_order(&records, 4, 4000);
    consumer.close().await;
}

#[tokio::test]
async fn seek_pause_and_resume_skip_and_repeat_nothing() {
    let cluster = cluster(1, "t", 2).await;
    append(&cluster, "t", 0, 0, 1000, 50, Compression::Lz4);
    append(&cluster, "t", 1, 0, 1000, 50, Compression::None);
    let mut consumer = builder(&cluster).connect().await.unwrap();
    let p0 = TopicPartition::new("t", 0);
    let p1 = TopicPartition::new("t", 1);
    consumer.assign([p0.clone()]).unwrap();
    let first = receive(&mut consumer, 10).await;
    assert_eq!(first[0].offset(), 0);
    // Seek into the middle of a compressed batch: the next record is exactly that offset.
    consumer.seek(&p0, 537).unwrap();
    let after_seek = receive(&mut consumer, 463).await;
    let offsets: Vec<i64> = after_seek.iter().map(|r| r.offset()).collect();
    assert_eq!(offsets, (537..1000).collect::<Vec<_>>());

    // Pause part-way through partition 1: nothing more from it until resumed, then the rest
    // without a gap or a repeat.
    consumer.assign([p0.clone(), p1.clone()]).unwrap();
    consumer.seek(&p1, 0).unwrap();
    let head = receive(&mut consumer, 120).await;
    assert!(head.iter().all(|r| r.partition() == 1));
    consumer.pause(&p1).unwrap();
    assert_eq!(consumer.paused(), std::slice::from_ref(&p1));
    append(&cluster, "t", 0, 1000, 5, 5, Compression::None);
    let while_paused = receive(&mut consumer, 5).await;
    assert!(while_paused.iter().all(|r| r.partition() == 0));
    consumer.resume(&p1).unwrap();
    let tail = receive(&mut consumer, 880).await;
    let offsets: Vec<i64> = head.iter().chain(&tail).map(|r| r.offset()).collect();
    assert_eq!(offsets, (0..1000).collect::<Vec<_>>());
    assert!(matches!(
        consumer.seek(&TopicPartition::new("other", 0), 0),
        Err(ConsumeError::NotAssigned(_))
    ));
    consumer.close().await;
}

#[tokio::test]
async fn a_leader_move_mid_consumption_loses_and_repeats_nothing() {
    let cluster = cluster(3, "t", 3).await;
    for p in 0..3 {
        append(&cluster, "t", p, 0, 500, 50, Compression::None);
    }
    let mut consumer = builder(&cluster)
        .max_partition_fetch_bytes(4096)
        .connect()
        .await
        .unwrap();
    consumer.assign(tps("t", 3)).unwrap();
    let mut records = receive(&mut consumer, 300).await;
    for p in 0..3 {
        let leader = cluster.state().topic("t").unwrap().partitions[p].leader();
        cluster.move_leader("t", p as i32, leader % 3 + 1);
    }
    records.extend(receive(&mut consumer, 1200).await);
    assert_complete_in_order(&records, 3, 500);
    assert!(
        consumer.metrics().fetch_errors > 0,
        "the old leaders refused"
    );
    consumer.close().await;
}

#[tokio::test]
async fn recv_is_cancel_safe() {
    let cluster = cluster(1, "t", 1).await;
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("t", 1)).unwrap();
    let mut got = Vec::new();
    let mut appended = 0;
    let mut cancelled = 0;
    while got.len() < 300 {
        if appended < 300 && got.len() + 20 >= appended {
            append(&cluster, "t", 0, appended, 30, 10, Compression::None);
            appended += 30;
        }
        // Many receives are cut short while waiting; none may lose or repeat a record.
        match tokio::time::timeout(Duration::from_micros(300), consumer.recv()).await {
            Ok(record) => got.push(record.unwrap().offset()),
            Err(_) => cancelled += 1,
        }
    }
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    assert!(cancelled > 0);
    consumer.close().await;
}

#[tokio::test]
async fn out_of_range_resets_or_reports_as_configured() {
    let cluster = cluster(1, "t", 1).await;
    append(&cluster, "t", 0, 0, 10, 10, Compression::None);
    let tp = TopicPartition::new("t", 0);

    let mut resetting = builder(&cluster).connect().await.unwrap();
    resetting.assign([tp.clone()]).unwrap();
    resetting.seek(&tp, 1_000).unwrap();
    let records = receive(&mut resetting, 10).await;
    assert_eq!(records[0].offset(), 0, "reset to earliest");
    resetting.close().await;

    let mut strict = builder(&cluster)
        .auto_offset_reset(OffsetReset::None)
        .connect()
        .await
        .unwrap();
    strict.assign([tp.clone()]).unwrap();
    assert!(matches!(
        strict.recv().await,
        Err(ConsumeError::NoPosition(_))
    ));
    strict.seek(&tp, 1_000).unwrap();
    match tokio::time::timeout(Duration::from_secs(5), strict.recv())
        .await
        .unwrap()
    {
        Err(ConsumeError::OffsetOutOfRange { offset, .. }) => assert_eq!(offset, 1_000),
        other => panic!("expected OffsetOutOfRange, got {other:?}"),
    }
    strict.seek(&tp, 3).unwrap();
    assert_eq!(strict.recv().await.unwrap().offset(), 3);
    strict.close().await;
}

#[tokio::test]
async fn a_corrupt_batch_is_an_error_at_its_offset_not_a_panic() {
    let cluster = cluster(1, "t", 1).await;
    append(&cluster, "t", 0, 0, 10, 10, Compression::None);
    {
        // Flip a byte inside the stored batch's records: its CRC no longer matches.
        let state = cluster.state();
        let t = state.topic("t").unwrap();
        let mut log = t.partitions[0].log.lock();
        assert!(log.corrupt(0, 70));
    }
    let mut consumer = builder(&cluster).connect().await.unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign([tp.clone()]).unwrap();
    match tokio::time::timeout(Duration::from_secs(5), consumer.recv())
        .await
        .unwrap()
    {
        Err(ConsumeError::Corrupt { offset, .. }) => assert_eq!(offset, 0),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        consumer.position(&tp).unwrap(),
        Some(0),
        "the position stays before it"
    );
    consumer.close().await;
}

#[tokio::test]
async fn a_missing_topic_is_created_only_where_allowed() {
    let cluster = cluster(1, "t", 1).await;
    // Java's `allow.auto.create.topics=false`: the consumer asks about the topic, the topic
    // stays missing, and nothing arrives.
    let mut refusing = builder(&cluster)
        .allow_auto_create_topics(false)
        .connect()
        .await
        .unwrap();
    refusing.assign(tps("ghost", 1)).unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), refusing.recv()).await;
    assert!(waited.is_err(), "nothing to receive");
    assert!(cluster.state().topic("ghost").is_none());
    refusing.close().await;

    // The default, as Java's: the broker creates it on the consumer's request.
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("ghost", 1)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cluster.state().topic("ghost").is_none() {
        assert!(std::time::Instant::now() < deadline, "never created");
        let _ = tokio::time::timeout(Duration::from_millis(20), consumer.recv()).await;
    }
    append(&cluster, "ghost", 0, 0, 3, 3, Compression::None);
    let got = receive(&mut consumer, 3).await;
    assert_eq!(
        got.iter().map(|r| r.offset()).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    consumer.close().await;
}
