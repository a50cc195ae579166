//! The other ways to receive: `stream()` (and its cancel safety), the blocking receiver for a
//! dedicated thread (order, commits of processed records only, a rebalance while the thread
//! works), and the cancel safety of `commit` and `committed`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::time::{Duration, Instant};

use common::*;
use futures_core::Stream;
use krafka_consumer::{ConsumerRecord, RecordStream, TopicPartition};
use krafka_protocol::compression::Compression;

const GROUP: &str = "receivers";

async fn next(stream: &mut RecordStream<'_>) -> Option<ConsumerRecord> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx))
        .await
        .map(|r| r.unwrap())
}

#[tokio::test]
async fn the_stream_yields_every_record_in_order_and_a_cancelled_next_loses_nothing() {
    let cluster = cluster(1, "t", 2).await;
    for p in 0..2 {
        append(&cluster, "t", p, 0, 300, 30, Compression::Zstd);
    }
    let mut consumer = builder(&cluster).connect().await.unwrap();
    consumer.assign(tps("t", 2)).unwrap();
    let mut got = Vec::new();
    {
        let mut stream = consumer.stream();
        while got.len() < 600 {
            got.push(next(&mut stream).await.unwrap());
        }
        // Nothing more: a next() that is cancelled while waiting...
        let waiting = tokio::time::timeout(Duration::from_millis(100), next(&mut stream)).await;
        assert!(waiting.is_err());
    }
    assert_complete_in_order(&got, 2, 300);
    // ...takes nothing: the record appended afterwards is the next one.
    append(&cluster, "t", 0, 300, 1, 1, Compression::None);
    let mut stream = consumer.stream();
    let r = next(&mut stream).await.unwrap();
    assert_eq!((r.partition(), r.offset()), (0, 300));
    drop(stream);
    consumer.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_commit_is_still_made_and_committed_is_cancel_safe() {
    let cluster = cluster(1, "t", 1).await;
    append(&cluster, "t", 0, 0, 40, 10, Compression::None);
    let mut c = builder(&cluster)
        .group_id(GROUP)
        .enable_auto_commit(false)
        .connect()
        .await
        .unwrap();
    c.assign(tps("t", 1)).unwrap();
    receive(&mut c, 40).await;
    // Cancelled after its first poll: the commit is already on its way.
    let cancelled = tokio::time::timeout(Duration::ZERO, c.commit()).await;
    assert!(cancelled.is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.committed(GROUP, "t", 0).map(|c| c.offset) != Some(40) {
        assert!(
            Instant::now() < deadline,
            "the cancelled commit was not made"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A cancelled lookup changes nothing; the next one answers.
    let _ = tokio::time::timeout(Duration::ZERO, c.committed(tps("t", 1))).await;
    let committed = c.committed(tps("t", 1)).await.unwrap();
    assert_eq!(committed[&TopicPartition::new("t", 0)], Some(40));
    c.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_thread_gets_every_record_in_order_and_commits_what_it_processed() {
    let cluster = cluster(1, "t", 3).await;
    for p in 0..3 {
        append(&cluster, "t", p, 0, 400, 40, Compression::Snappy);
    }
    let mut consumer = builder(&cluster).group_id(GROUP).connect().await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let mut receiver = consumer.into_blocking(2, 50);
    let thread = std::thread::spawn(move || {
        let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for _ in 0..1200 {
            let r = receiver.recv().unwrap();
            // A slow store: the channel (2 batches) fills and the task waits for room.
            std::thread::sleep(Duration::from_micros(200));
            by_partition
                .entry(r.partition())
                .or_default()
                .push(r.offset());
        }
        assert!(
            receiver
                .recv_timeout(Duration::from_millis(100))
                .unwrap()
                .is_none()
        );
        receiver.close();
        by_partition
    });
    let by_partition = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    for (p, offsets) in &by_partition {
        assert_eq!(*offsets, (0..400).collect::<Vec<i64>>(), "partition {p}");
    }
    for p in 0..3 {
        assert_eq!(cluster.committed(GROUP, "t", p).unwrap().offset, 400);
    }
    assert!(
        cluster.group_members(GROUP).is_empty(),
        "close left the group"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_receiver_commits_only_finished_batches() {
    let cluster = cluster(1, "t", 1).await;
    append(&cluster, "t", 0, 0, 100, 10, Compression::None);
    let mut consumer = builder(&cluster).group_id(GROUP).connect().await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let mut receiver = consumer.into_blocking(1, 10);
    let seen = tokio::task::spawn_blocking(move || {
        // Two whole batches and half of a third, then the thread gives up.
        let offsets: Vec<i64> = (0..25).map(|_| receiver.recv().unwrap().offset()).collect();
        drop(receiver);
        offsets
    })
    .await
    .unwrap();
    assert_eq!(seen, (0..25).collect::<Vec<i64>>());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.group_members(GROUP).is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let committed = cluster.committed(GROUP, "t", 0).unwrap().offset;
    assert_eq!(committed, 20, "the half-done third batch is not committed");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_while_the_thread_works_loses_and_repeats_nothing() {
    let cluster = cluster(1, "t", 4).await;
    for p in 0..4 {
        append(&cluster, "t", p, 0, 250, 25, Compression::None);
    }
    let start = |name: &'static str| {
        let b = builder(&cluster)
            .group_id(GROUP)
            .client_id(name)
            .heartbeat_interval(Duration::from_millis(100));
        async move {
            let mut c = b.connect().await.unwrap();
            c.subscribe(["t"]).unwrap();
            c.into_blocking(2, 20)
        }
    };
    let worker = |mut receiver: krafka_consumer::BlockingReceiver, stop: Duration| {
        std::thread::spawn(move || {
            let mut got = Vec::new();
            let until = Instant::now() + stop;
            while Instant::now() < until {
                if let Some(r) = receiver.recv_timeout(Duration::from_millis(20)).unwrap() {
                    std::thread::sleep(Duration::from_micros(500));
                    got.push((r.partition(), r.offset()));
                }
            }
            receiver.close();
            got
        })
    };
    let a = worker(start("a").await, Duration::from_secs(4));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = worker(start("b").await, Duration::from_secs(3));
    let (a, b) = tokio::task::spawn_blocking(move || (a.join().unwrap(), b.join().unwrap()))
        .await
        .unwrap();
    assert!(!b.is_empty(), "b got a share");
    let mut all: Vec<(i32, i64)> = a.iter().chain(&b).copied().collect();
    all.sort();
    let expected: Vec<(i32, i64)> = (0..4).flat_map(|p| (0..250).map(move |o| (p, o))).collect();
    assert_eq!(all, expected, "every record exactly once");
    cluster.shutdown().await;
}
