//! `process_partitioned` against krafka-mock: order within partitions with concurrency across
//! them, commits of finished records only, a failing handler, a partition with a long backlog
//! not holding up the others, and a rebalance in the middle of processing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use krafka_consumer::{ConsumerBuilder, ProcessError, TopicPartition};
use krafka_mock::MockCluster;
use krafka_protocol::compression::Compression;
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

const GROUP: &str = "workers";

fn worker(cluster: &MockCluster) -> ConsumerBuilder {
    builder(cluster)
        .group_id(GROUP)
        .heartbeat_interval(Duration::from_millis(100))
        .auto_commit_interval(Duration::from_millis(100))
}

fn fill(cluster: &MockCluster, partitions: i32, from: usize, count: usize) {
    for p in 0..partitions {
        append(cluster, "t", p, from, count, 50, Compression::Lz4);
    }
}

/// Resolves once `counter` reaches `target`.
async fn when_count(counter: Arc<AtomicUsize>, target: usize) {
    while counter.load(Ordering::SeqCst) < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_committed(cluster: &MockCluster, partition: i32, offset: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.committed(GROUP, "t", partition).map(|c| c.offset) != Some(offset) {
        assert!(
            Instant::now() < deadline,
            "partition {partition} committed {:?}, expected {offset}",
            cluster.committed(GROUP, "t", partition).map(|c| c.offset)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_run_in_order_per_partition_and_concurrently_across_partitions() {
    let cluster = cluster(1, "t", 4).await;
    fill(&cluster, 4, 0, 500);
    let mut consumer = worker(&cluster).connect().await.unwrap();
    consumer.subscribe(["t"]).unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let busy: Arc<Mutex<HashSet<i32>>> = Arc::default();
    let order: Arc<Mutex<BTreeMap<i32, Vec<i64>>>> = Arc::default();
    let max_in_flight = 3;
    let result = consumer
        .process_partitioned_until(max_in_flight, when_count(done.clone(), 2000), |record| {
            let (done, running, peak, busy, order) = (
                done.clone(),
                running.clone(),
                peak.clone(),
                busy.clone(),
                order.clone(),
            );
            async move {
                let p = record.partition();
                assert!(
                    busy.lock().insert(p),
                    "two records of partition {p} at once"
                );
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_micros(
                    200 + (record.offset() % 7) as u64 * 100,
                ))
                .await;
                order.lock().entry(p).or_default().push(record.offset());
                running.fetch_sub(1, Ordering::SeqCst);
                busy.lock().remove(&p);
                done.fetch_add(1, Ordering::SeqCst);
                Ok::<(), std::convert::Infallible>(())
            }
        })
        .await;
    result.unwrap();
    for (p, offsets) in order.lock().iter() {
        assert_eq!(*offsets, (0..500).collect::<Vec<i64>>(), "partition {p}");
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak > 1 && peak <= max_in_flight, "peak concurrency {peak}");
    consumer.close().await;
    for p in 0..4 {
        assert_eq!(cluster.committed(GROUP, "t", p).unwrap().offset, 500);
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_finished_records_are_committed_while_one_is_stuck() {
    let cluster = cluster(1, "t", 2).await;
    fill(&cluster, 2, 0, 200);
    let mut consumer = worker(&cluster).connect().await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let release = Arc::new(Notify::new());
    let done = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop) = oneshot::channel::<()>();
    let (r, d) = (release.clone(), done.clone());
    let processing = tokio::spawn(async move {
        consumer
            .process_partitioned_until(
                8,
                async move {
                    let _ = stop.await;
                },
                move |record| {
                    let (release, done) = (r.clone(), d.clone());
                    async move {
                        if record.partition() == 0 && record.offset() == 100 {
                            release.notified().await;
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), std::convert::Infallible>(())
                    }
                },
            )
            .await
            .unwrap();
        consumer
    });
    // Partition 1 finishes and is committed; partition 0 stops at its stuck record.
    wait_committed(&cluster, 1, 200).await;
    wait_committed(&cluster, 0, 100).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cluster.committed(GROUP, "t", 0).unwrap().offset, 100);
    release.notify_one();
    wait_committed(&cluster, 0, 200).await;
    stop_tx.send(()).unwrap();
    let consumer = processing.await.unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 400);
    consumer.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_stops_and_gives_back_what_it_did_not_finish() {
    let cluster = cluster(1, "t", 3).await;
    fill(&cluster, 3, 0, 100);
    let mut consumer = worker(&cluster).connect().await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let result = consumer
        .process_partitioned(4, |record| async move {
            if record.partition() == 1 && record.offset() == 50 {
                return Err("store refused");
            }
            Ok(())
        })
        .await;
    match result {
        Err(ProcessError::Handler {
            partition,
            offset,
            error,
        }) => {
            assert_eq!(
                (partition, offset, error),
                (TopicPartition::new("t", 1), 50, "store refused")
            );
        }
        other => panic!("{other:?}"),
    }
    // The failed record is next; nothing after it was skipped.
    let p1 = TopicPartition::new("t", 1);
    assert_eq!(consumer.position(&p1).unwrap(), Some(50));
    let next = consumer.recv().await.unwrap();
    assert!(next.partition() != 1 || next.offset() == 50, "{next:?}");
    consumer.seek(&p1, 50).unwrap();
    consumer.close().await;
    assert_eq!(cluster.committed(GROUP, "t", 1).unwrap().offset, 50);

    // The next member resumes partition 1 at the failed record.
    let mut again = worker(&cluster).connect().await.unwrap();
    again.subscribe(["t"]).unwrap();
    let mut first_of_p1 = None;
    while first_of_p1.is_none() {
        let r = again.recv().await.unwrap();
        if r.partition() == 1 {
            first_of_p1 = Some(r.offset());
        }
    }
    assert_eq!(first_of_p1, Some(50));
    again.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_with_a_long_backlog_does_not_hold_up_the_others() {
    let cluster = cluster(1, "t", 2).await;
    // Partition 0: a backlog far beyond the helper's queue, handled slowly. Partition 1: a
    // little, handled at once.
    append(&cluster, "t", 0, 0, 5000, 500, Compression::None);
    append(&cluster, "t", 1, 0, 100, 50, Compression::None);
    let mut consumer = worker(&cluster)
        .max_partition_fetch_bytes(1024 * 1024)
        .connect()
        .await
        .unwrap();
    consumer.subscribe(["t"]).unwrap();
    let p1_done = Arc::new(AtomicUsize::new(0));
    let p0_done = Arc::new(AtomicUsize::new(0));
    let (a, b) = (p0_done.clone(), p1_done.clone());
    let result = consumer
        .process_partitioned_until(4, when_count(p1_done.clone(), 100), move |record| {
            let (p0, p1) = (a.clone(), b.clone());
            async move {
                if record.partition() == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    p0.fetch_add(1, Ordering::SeqCst);
                } else {
                    p1.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), std::convert::Infallible>(())
            }
        })
        .await;
    result.unwrap();
    let p0 = p0_done.load(Ordering::SeqCst);
    assert!(
        p0 < 2000,
        "partition 1 waited behind {p0} records of partition 0"
    );
    // Stopping moved partition 0 back to its first unprocessed record.
    let tp0 = TopicPartition::new("t", 0);
    assert_eq!(consumer.position(&tp0).unwrap(), Some(p0 as i64));
    consumer.close().await;
    assert_eq!(cluster.committed(GROUP, "t", 0).unwrap().offset, p0 as i64);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_in_the_middle_loses_and_repeats_nothing() {
    let cluster = cluster(1, "t", 4).await;
    fill(&cluster, 4, 0, 300);
    let processed: Arc<Mutex<Vec<(usize, i32, i64)>>> = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let spawn_worker = |id: usize, stop: oneshot::Receiver<()>| {
        let (processed, total, cluster_builder) =
            (processed.clone(), total.clone(), worker(&cluster));
        tokio::spawn(async move {
            let mut c = cluster_builder
                .client_id(format!("w{id}"))
                .connect()
                .await
                .unwrap();
            c.subscribe(["t"]).unwrap();
            c.process_partitioned_until(
                4,
                async move {
                    let _ = stop.await;
                },
                move |record| {
                    let (processed, total) = (processed.clone(), total.clone());
                    async move {
                        tokio::time::sleep(Duration::from_micros(300)).await;
                        processed
                            .lock()
                            .push((id, record.partition(), record.offset()));
                        total.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), std::convert::Infallible>(())
                    }
                },
            )
            .await
            .unwrap();
            c.close().await;
        })
    };
    let (stop_a, a_stop) = oneshot::channel();
    let a = spawn_worker(1, a_stop);
    when_count(total.clone(), 300).await;
    let (stop_b, b_stop) = oneshot::channel();
    let b = spawn_worker(2, b_stop);
    fill(&cluster, 4, 300, 300);
    when_count(total.clone(), 2400).await;
    // Let both settle, then stop them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let processed = processed.lock().clone();
    let mut seen: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    for (_, p, o) in processed.iter() {
        *seen.entry((*p, *o)).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2400, "every record processed");
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "processed twice: {repeated:?}");
    assert!(
        processed.iter().any(|(id, _, _)| *id == 2),
        "the second worker got a share"
    );
    for p in 0..4 {
        assert_eq!(cluster.committed(GROUP, "t", p).unwrap().offset, 600);
    }
    cluster.shutdown().await;
}
