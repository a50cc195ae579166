//! Consumer groups against krafka-mock: subscribing, committing, rebalancing two and three
//! members with every assignor, cooperative rebalances that keep unaffected partitions, a
//! crashed member's partitions resumed from its last commit, static membership, a slow
//! application keeping its membership, the poll timeout, and coordinator failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use krafka_consumer::{
    AssignorKind, ConsumeError, Consumer, ConsumerBuilder, RebalanceListener, RevokedOffsets,
    TopicPartition,
};
use krafka_mock::{Control, MockCluster, Times};
use krafka_protocol::compression::Compression;
use krafka_protocol::{ApiKey, ErrorCode};
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const GROUP: &str = "g";

fn member(cluster: &MockCluster, name: &str) -> ConsumerBuilder {
    builder(cluster)
        .group_id(GROUP)
        .client_id(name)
        .heartbeat_interval(Duration::from_millis(100))
        .session_timeout(Duration::from_secs(10))
}

/// (member, partition, offset) of every record any member received.
type Seen = Arc<Mutex<Vec<(String, i32, i64)>>>;

/// Each running member's assignment after its latest poll.
type Assignments = Arc<Mutex<BTreeMap<String, Vec<TopicPartition>>>>;

/// A member consuming in its own task until told to stop.
struct Running {
    stop: oneshot::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops it: closes it (`graceful`) or just drops it.
    async fn stop(self, graceful: bool) {
        let _ = self.stop.send(graceful);
        self.task.await.unwrap();
    }
}

async fn run(consumer: Consumer, name: &str, seen: Seen) -> Running {
    run_tracked(consumer, name, seen, Arc::default()).await
}

async fn run_tracked(
    mut consumer: Consumer,
    name: &str,
    seen: Seen,
    assignments: Assignments,
) -> Running {
    consumer.subscribe(["t"]).unwrap();
    let (stop, mut stopped) = oneshot::channel::<bool>();
    let name = name.to_owned();
    let task = tokio::spawn(async move {
        let graceful = loop {
            tokio::select! {
                graceful = &mut stopped => break graceful.unwrap_or(true),
                got = tokio::time::timeout(Duration::from_millis(50), consumer.poll(50)) => {
                    if let Ok(got) = got {
                        let mut seen = seen.lock();
                        for r in got.unwrap() {
                            seen.push((name.clone(), r.partition(), r.offset()));
                        }
                    }
                    assignments.lock().insert(name.clone(), consumer.assignment());
                }
            }
        };
        assignments.lock().remove(&name);
        if graceful {
            consumer.close().await;
        }
    });
    Running { stop, task }
}

fn count_of(seen: &Seen, name: &str) -> usize {
    seen.lock().iter().filter(|(n, _, _)| n == name).count()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many times each (partition, offset) was received.
fn tally(seen: &Seen) -> BTreeMap<(i32, i64), usize> {
    let mut out = BTreeMap::new();
    for (_, p, o) in seen.lock().iter() {
        *out.entry((*p, *o)).or_insert(0) += 1;
    }
    out
}

fn assert_exactly_once(seen: &Seen, partitions: i32, per_partition: i64) {
    let tally = tally(seen);
    for p in 0..partitions {
        for o in 0..per_partition {
            assert_eq!(
                tally.get(&(p, o)).copied().unwrap_or(0),
                1,
                "partition {p} offset {o}"
            );
        }
    }
    assert_eq!(tally.len() as i64, i64::from(partitions) * per_partition);
}

async fn three_members_come_and_go(kind: AssignorKind) {
    trace();
    let cluster = cluster(3, "t", 6).await;
    let seen: Seen = Arc::default();
    let owners: Assignments = Arc::default();
    // Every partition owned once, by `members` members that each own some.
    let settled = |members: usize| {
        let owners = owners.lock();
        let all: BTreeSet<&TopicPartition> = owners.values().flatten().collect();
        owners.len() == members
            && owners.values().all(|a| !a.is_empty())
            && owners.values().map(Vec::len).sum::<usize>() == 6
            && all.len() == 6
    };
    let fill = |from: usize, count: usize| {
        for p in 0..6 {
            append(&cluster, "t", p, from, count, 20, Compression::None);
        }
    };
    fill(0, 200);
    let a = run_tracked(
        member(&cluster, "a")
            .assignors([kind])
            .connect()
            .await
            .unwrap(),
        "a",
        seen.clone(),
        owners.clone(),
    )
    .await;
    wait_until("a consumed everything", || count_of(&seen, "a") == 1200).await;

    let b = run_tracked(
        member(&cluster, "b")
            .assignors([kind])
            .connect()
            .await
            .unwrap(),
        "b",
        seen.clone(),
        owners.clone(),
    )
    .await;
    wait_until("two members share the partitions", || settled(2)).await;
    fill(200, 200);
    wait_until("b got a share", || count_of(&seen, "b") > 0).await;
    wait_until("phase 2 consumed", || tally(&seen).len() == 2400).await;

    let c = run_tracked(
        member(&cluster, "c")
            .assignors([kind])
            .connect()
            .await
            .unwrap(),
        "c",
        seen.clone(),
        owners.clone(),
    )
    .await;
    wait_until("three members share the partitions", || settled(3)).await;
    fill(400, 200);
    wait_until("c got a share", || count_of(&seen, "c") > 0).await;
    wait_until("phase 3 consumed", || tally(&seen).len() == 3600).await;

    // b leaves cleanly: its partitions go to a and c, from b's committed positions.
    let b_before = count_of(&seen, "b");
    b.stop(true).await;
    wait_until("a and c took b's partitions", || settled(2)).await;
    fill(600, 100);
    wait_until("phase 4 consumed", || tally(&seen).len() == 4200).await;
    assert_eq!(count_of(&seen, "b"), b_before);

    a.stop(true).await;
    c.stop(true).await;
    assert_exactly_once(&seen, 6, 700);
    assert!(
        cluster.group_members(GROUP).is_empty(),
        "closed members leave"
    );
    // Every partition's final position is committed.
    for p in 0..6 {
        assert_eq!(
            cluster.committed(GROUP, "t", p).unwrap().offset,
            700,
            "p{p}"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_members_join_and_leave_without_losing_or_repeating_a_record() {
    three_members_come_and_go(AssignorKind::Range).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundrobin_members_join_and_leave_without_losing_or_repeating_a_record() {
    three_members_come_and_go(AssignorKind::RoundRobin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_members_join_and_leave_without_losing_or_repeating_a_record() {
    three_members_come_and_go(AssignorKind::CooperativeSticky).await;
}

/// One listener call: its kind and partitions.
type Call = (&'static str, Vec<TopicPartition>);

/// Records the listener calls.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Call>>>);

impl RebalanceListener for Recorder {
    fn on_partitions_revoked(&mut self, partitions: &[TopicPartition], _: &mut RevokedOffsets) {
        self.0.lock().push(("revoked", partitions.to_vec()));
    }
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        self.0.lock().push(("assigned", partitions.to_vec()));
    }
    fn on_partitions_lost(&mut self, partitions: &[TopicPartition]) {
        self.0.lock().push(("lost", partitions.to_vec()));
    }
}

impl Recorder {
    fn calls(&self) -> Vec<(&'static str, usize)> {
        self.0.lock().iter().map(|(k, p)| (*k, p.len())).collect()
    }
}

/// Polls `consumer` (collecting into `into`) until `done`.
async fn poll_until(
    consumer: &mut Consumer,
    into: &mut Vec<(i32, i64)>,
    what: &str,
    mut done: impl FnMut(&Consumer, &[(i32, i64)]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(consumer, into) {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(50), consumer.poll(100)).await {
            into.extend(got.unwrap().iter().map(|r| (r.partition(), r.offset())));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_rebalance_revokes_only_what_moves_and_keeps_the_rest_consuming() {
    let cluster = cluster(1, "t", 4).await;
    let recorder = Recorder::default();
    let mut a = member(&cluster, "a")
        .assignors([AssignorKind::CooperativeSticky])
        .connect()
        .await
        .unwrap();
    a.set_rebalance_listener(recorder.clone()).unwrap();
    a.subscribe(["t"]).unwrap();
    let mut got = Vec::new();
    poll_until(&mut a, &mut got, "a owns all four", |c, _| {
        c.assignment().len() == 4
    })
    .await;
    assert_eq!(recorder.calls(), [("assigned", 4)]);

    let b = run(
        member(&cluster, "b")
            .assignors([AssignorKind::CooperativeSticky])
            .connect()
            .await
            .unwrap(),
        "b",
        Arc::default(),
    )
    .await;
    poll_until(&mut a, &mut got, "a is down to two", |c, _| {
        c.assignment().len() == 2
    })
    .await;
    // Only the two partitions that moved were revoked; the two kept never were.
    assert_eq!(recorder.calls()[1], ("revoked", 2));
    assert!(
        recorder
            .calls()
            .iter()
            .all(|(k, n)| *k != "revoked" || *n == 2),
        "{:?}",
        recorder.calls()
    );
    let kept = a.assignment();
    // The kept partitions go on delivering while b is in the group.
    for tp in &kept {
        append(&cluster, "t", tp.partition, 0, 10, 10, Compression::None);
    }
    got.clear();
    poll_until(&mut a, &mut got, "a reads its kept partitions", |_, got| {
        got.len() == 20
    })
    .await;
    b.stop(true).await;
    a.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_rebalance_revokes_everything_then_assigns_and_the_listener_sees_it_in_order() {
    let cluster = cluster(1, "t", 4).await;
    let recorder = Recorder::default();
    let mut a = member(&cluster, "a").connect().await.unwrap();
    a.set_rebalance_listener(recorder.clone()).unwrap();
    a.subscribe(["t"]).unwrap();
    let mut got = Vec::new();
    poll_until(&mut a, &mut got, "a owns all four", |c, _| {
        c.assignment().len() == 4
    })
    .await;
    let b = run(
        member(&cluster, "b").connect().await.unwrap(),
        "b",
        Arc::default(),
    )
    .await;
    poll_until(&mut a, &mut got, "a is down to two", |c, _| {
        c.assignment().len() == 2
    })
    .await;
    // The default assignors (range first) rebalance eagerly: all four are revoked first.
    assert_eq!(
        recorder.calls(),
        [("assigned", 4), ("revoked", 4), ("assigned", 2)]
    );
    a.close().await;
    // close revokes what is left.
    assert_eq!(recorder.calls().last(), Some(&("revoked", 2)));
    b.stop(true).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_member_is_replaced_from_its_last_commit_with_duplicates_only_after_it() {
    let cluster = cluster(1, "t", 2).await;
    for p in 0..2 {
        append(&cluster, "t", p, 0, 300, 10, Compression::None);
    }
    // The member that crashes runs on a runtime of its own, which is shut down under it: no
    // LeaveGroup, no final commit, heartbeats just stop.
    let bootstrap = cluster.bootstrap();
    let (report, crashed) = std::sync::mpsc::channel();
    let doomed = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = rt.block_on(async move {
            let mut c = ConsumerBuilder::new()
                .bootstrap_servers(bootstrap)
                .auto_offset_reset(krafka_consumer::OffsetReset::Earliest)
                .fetch_max_wait(Duration::from_millis(50))
                .group_id(GROUP)
                .enable_auto_commit(false)
                .heartbeat_interval(Duration::from_millis(100))
                .session_timeout(Duration::from_millis(1500))
                .connect()
                .await
                .unwrap();
            c.subscribe(["t"]).unwrap();
            let mut got: Vec<(i32, i64)> = Vec::new();
            while got.len() < 200 {
                got.extend(
                    c.poll(200 - got.len())
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (r.partition(), r.offset())),
                );
            }
            // Commit what was processed so far, then keep consuming without committing.
            c.commit().await.unwrap();
            let committed: BTreeMap<i32, i64> = c
                .assignment()
                .iter()
                .map(|tp| (tp.partition, c.position(tp).unwrap().unwrap()))
                .collect();
            while got.len() < 400 {
                got.extend(
                    c.poll(400 - got.len())
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (r.partition(), r.offset())),
                );
            }
            std::mem::forget(c);
            (got, committed)
        });
        report.send(received).unwrap();
        rt.shutdown_background();
    });
    let (first, committed) = crashed.recv().unwrap();
    doomed.join().unwrap();
    for (p, offset) in &committed {
        assert_eq!(cluster.committed(GROUP, "t", *p).unwrap().offset, *offset);
    }

    let mut b = member(&cluster, "b").connect().await.unwrap();
    b.subscribe(["t"]).unwrap();
    let mut second = Vec::new();
    poll_until(&mut b, &mut second, "b read to the end", |_, got| {
        (0..2).all(|p| got.contains(&(p, 299)))
    })
    .await;
    // b starts each partition exactly at the crashed member's last commit.
    for p in 0..2 {
        let first_of_b = second.iter().find(|(bp, _)| *bp == p).unwrap().1;
        assert_eq!(first_of_b, committed[&p], "partition {p}");
    }
    // Nothing is lost; the only duplicates are what the crashed member read after its commit.
    let all: BTreeSet<(i32, i64)> = first.iter().chain(&second).copied().collect();
    assert_eq!(all.len(), 600);
    let mut dups: Vec<(i32, i64)> = second
        .iter()
        .filter(|r| first.contains(r))
        .copied()
        .collect();
    dups.sort();
    let mut expected: Vec<(i32, i64)> = first
        .iter()
        .filter(|(p, o)| *o >= committed[p])
        .copied()
        .collect();
    expected.sort();
    assert_eq!(dups, expected);
    assert!(!dups.is_empty(), "the crash came after uncommitted reads");
    b.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_static_member_gets_its_partitions_back() {
    trace();
    let cluster = cluster(1, "t", 4).await;
    let start = |instance: &'static str| {
        member(&cluster, instance)
            .group_instance_id(instance)
            .connect()
    };
    let mut a = start("host-a").await.unwrap();
    let mut b = start("host-b").await.unwrap();
    a.subscribe(["t"]).unwrap();
    b.subscribe(["t"]).unwrap();
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.assignment().len() + b.assignment().len() != 4
        || a.assignment().is_empty()
        || b.assignment().is_empty()
    {
        assert!(Instant::now() < deadline);
        let _ = tokio::time::timeout(Duration::from_millis(20), a.poll(10)).await;
        let _ = tokio::time::timeout(Duration::from_millis(20), b.poll(10)).await;
    }
    let (before_a, before_b) = (a.assignment(), b.assignment());
    // A static member does not leave on close: it keeps its place for its session.
    a.close().await;
    assert_eq!(cluster.group_members(GROUP).len(), 2);

    let b_rebalances = b.metrics().rebalances;
    let mut a = start("host-a").await.unwrap();
    a.subscribe(["t"]).unwrap();
    poll_until(&mut a, &mut ga, "a is back", |c, _| {
        c.assignment().len() == 2
    })
    .await;
    // KIP-345: the restart rebalanced nothing; b kept consuming what it had.
    poll_until(&mut b, &mut gb, "b polled", |_, _| true).await;
    assert_eq!(a.assignment(), before_a);
    assert_eq!(b.assignment(), before_b);
    assert_eq!(b.metrics().rebalances, b_rebalances);
    assert_eq!(cluster.group_members(GROUP).len(), 2);
    a.close().await;
    b.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_application_keeps_its_membership_and_its_memory_bound() {
    let cluster = cluster(1, "t", 2).await;
    for p in 0..2 {
        append(&cluster, "t", p, 0, 5000, 50, Compression::None);
    }
    let budget = 64 * 1024;
    let mut c = member(&cluster, "slow")
        .session_timeout(Duration::from_millis(1000))
        .max_buffered_bytes(budget)
        .max_partition_fetch_bytes(16 * 1024)
        .connect()
        .await
        .unwrap();
    c.subscribe(["t"]).unwrap();
    let first = c.poll(10).await.unwrap();
    assert!(!first.is_empty());
    let generation_members = cluster.group_members(GROUP);
    let heartbeats = c.metrics().heartbeats;
    let mut peak = 0;
    // Three calls to a store that takes 1.2 s each: longer than the session timeout.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        peak = peak.max(c.buffered_bytes());
        c.poll(10).await.unwrap();
    }
    assert_eq!(
        cluster.group_members(GROUP),
        generation_members,
        "still the same member"
    );
    assert_eq!(c.metrics().rebalances, 1, "no rebalance happened");
    assert!(
        c.metrics().heartbeats >= heartbeats + 20,
        "heartbeats went on while the application slept"
    );
    // One batch per partition beyond the budget at most (a batch of 50 × ~70 B records).
    assert!(
        peak <= budget + 2 * 8 * 1024,
        "buffered {peak} B with a {budget} B budget"
    );
    c.close().await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_poll_interval_the_member_leaves_and_rejoins_when_polled_again() {
    let cluster = cluster(1, "t", 2).await;
    let recorder = Recorder::default();
    let mut c = member(&cluster, "idle")
        .max_poll_interval(Duration::from_millis(600))
        .connect()
        .await
        .unwrap();
    c.set_rebalance_listener(recorder.clone()).unwrap();
    c.subscribe(["t"]).unwrap();
    let mut got = Vec::new();
    poll_until(&mut c, &mut got, "assigned", |c, _| {
        c.assignment().len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(cluster.group_members(GROUP).is_empty(), "it left the group");
    poll_until(&mut c, &mut got, "rejoined", |c, _| {
        c.assignment().len() == 2
    })
    .await;
    assert_eq!(
        recorder.calls(),
        [("assigned", 2), ("lost", 2), ("assigned", 2)]
    );
    assert_eq!(cluster.group_members(GROUP).len(), 1);
    c.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn commits_and_committed_offsets_round_trip_and_survive_a_coordinator_move() {
    trace();
    let cluster = cluster(3, "t", 3).await;
    for p in 0..3 {
        append(&cluster, "t", p, 0, 100, 10, Compression::None);
    }
    let mut c = member(&cluster, "c")
        .enable_auto_commit(false)
        .connect()
        .await
        .unwrap();
    c.subscribe(["t"]).unwrap();
    let got = receive(&mut c, 300).await;
    assert_complete_in_order(&got, 3, 100);
    c.commit().await.unwrap();
    let all = tps("t", 3);
    let committed = c.committed(all.clone()).await.unwrap();
    assert!(
        all.iter().all(|tp| committed[tp] == Some(100)),
        "{committed:?}"
    );

    // The coordinator moves: the next commit finds it again.
    let current = cluster.state().groups.coordinator(GROUP, &[1, 2, 3]);
    let node = (1..=3).find(|n| current != Some(*n)).unwrap();
    cluster.set_coordinator(GROUP, node);
    c.commit_offsets([(TopicPartition::new("t", 0), 42)])
        .await
        .or_else(|first| {
            // The first attempt may only learn that the coordinator moved.
            assert!(
                matches!(first, ConsumeError::Group(ErrorCode::NOT_COORDINATOR)),
                "{first}"
            );
            Ok::<(), ConsumeError>(())
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.committed(GROUP, "t", 0).map(|c| c.offset) != Some(42) {
        assert!(
            Instant::now() < deadline,
            "commit after the coordinator moved"
        );
        let _ = c.commit_offsets([(TopicPartition::new("t", 0), 42)]).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn heartbeat_errors_from_the_coordinator_are_survived() {
    trace();
    let cluster = cluster(1, "t", 2).await;
    for p in 0..2 {
        append(&cluster, "t", p, 0, 50, 10, Compression::None);
    }
    // A short session: the injected UNKNOWN_MEMBER_ID is a lie the mock does not share, so
    // the rejoin waits for the old member id's session to run out.
    let mut c = member(&cluster, "c")
        .session_timeout(Duration::from_millis(1000))
        .connect()
        .await
        .unwrap();
    c.subscribe(["t"]).unwrap();
    let got = receive(&mut c, 100).await;
    assert_complete_in_order(&got, 2, 50);
    // The coordinator is briefly unavailable, then forgets the member.
    let heartbeats = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = heartbeats.clone();
    cluster.on(ApiKey::HEARTBEAT, Times::Always, move |_| {
        match counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 | 1 => Control::Error(ErrorCode::COORDINATOR_NOT_AVAILABLE),
            2 => Control::Error(ErrorCode::UNKNOWN_MEMBER_ID),
            _ => Control::Pass,
        }
    });
    let mut all: BTreeSet<(i32, i64)> = BTreeSet::new();
    let mut polled = Vec::new();
    poll_until(&mut c, &mut polled, "it rejoined", |c, _| {
        c.metrics().rebalances >= 2 && c.assignment().len() == 2
    })
    .await;
    assert!(heartbeats.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    for p in 0..2 {
        append(&cluster, "t", p, 50, 50, 10, Compression::None);
    }
    // After losing its membership it rejoined and resumed from its auto-committed position
    // (or earlier): every new record arrives.
    poll_until(&mut c, &mut polled, "the new records arrived", |_, got| {
        (0..2).all(|p| (50..100).all(|o| got.contains(&(p, o))))
    })
    .await;
    all.extend(polled.iter().copied());
    assert!(all.iter().all(|(_, o)| *o < 100));
    c.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn subscribe_and_assign_do_not_mix_and_commits_need_a_group() {
    trace();
    let cluster = cluster(1, "t", 2).await;
    let mut grouped = member(&cluster, "x").connect().await.unwrap();
    grouped.subscribe(["t"]).unwrap();
    assert!(matches!(
        grouped.assign(tps("t", 1)),
        Err(ConsumeError::SubscriptionConflict)
    ));
    grouped.unsubscribe().unwrap();
    grouped.close().await;

    let mut plain = builder(&cluster).connect().await.unwrap();
    plain.assign(tps("t", 2)).unwrap();
    assert!(matches!(plain.subscribe(["t"]), Err(ConsumeError::NoGroup)));
    assert!(matches!(plain.commit().await, Err(ConsumeError::NoGroup)));
    plain.close().await;
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_manually_assigned_consumer_with_a_group_commits_as_a_simple_consumer() {
    let cluster = cluster(1, "t", 1).await;
    append(&cluster, "t", 0, 0, 20, 10, Compression::None);
    let mut c = member(&cluster, "simple").connect().await.unwrap();
    c.assign(tps("t", 1)).unwrap();
    let got = receive(&mut c, 20).await;
    assert_eq!(got.len(), 20);
    // close commits the position (auto-commit is on) without joining the group.
    c.close().await;
    assert_eq!(cluster.committed(GROUP, "t", 0).unwrap().offset, 20);
    assert!(cluster.group_members(GROUP).is_empty());
    // A new consumer of the group starts from there.
    let mut again = member(&cluster, "again").connect().await.unwrap();
    again.subscribe(["t"]).unwrap();
    append(&cluster, "t", 0, 20, 5, 5, Compression::None);
    let next = receive(&mut again, 5).await;
    assert_eq!(next[0].offset(), 20);
    again.close().await;
    cluster.shutdown().await;
}
