//! The producer against krafka-mock: delivery, ordering, partitioning, flush/close,
//! backpressure, cancel safety, splitting, timeouts and fatal errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{builder, cluster, log_values, producer, send_values, value};
use krafka_mock::{Control, Times};
use krafka_producer::{
    Acks, Compression, PartitionerChoice, ProduceError, ProducerRecord, Written, partition_for_key,
};
use krafka_protocol::messages::RequestBody;
use krafka_protocol::{ApiKey, ErrorCode};

#[tokio::test]
async fn keyed_records_land_in_javas_partition_in_order_with_their_offsets() {
    let cluster = cluster(3, "t", 6).await;
    let producer = producer(&cluster).await;
    let topic: Arc<str> = "t".into();
    let mut futures = Vec::new();
    for i in 0..600u32 {
        let key = format!("key-{}", i % 50);
        let record = ProducerRecord::new(topic.clone())
            .key(key.clone())
            .value(value(i));
        futures.push((key, i, producer.send(record).await.unwrap()));
    }
    let mut per_partition: Vec<Vec<(u32, i64)>> = vec![Vec::new(); 6];
    for (key, i, f) in futures {
        let m = f.await.unwrap();
        assert_eq!(m.partition as u32, partition_for_key(key.as_bytes(), 6));
        per_partition[m.partition as usize].push((i, m.offset.unwrap()));
    }
    for (p, sent) in per_partition.iter().enumerate() {
        let log = log_values(&cluster, "t", p as i32);
        let expected: Vec<u32> = sent.iter().map(|(i, _)| *i).collect();
        assert_eq!(log, expected, "partition {p}: the log is the send order");
        let offsets: Vec<i64> = sent.iter().map(|(_, o)| *o).collect();
        assert_eq!(offsets, (0..sent.len() as i64).collect::<Vec<_>>());
    }
    let m = producer.metrics();
    assert_eq!(m.records_sent, 600);
    assert!(m.records_per_batch > 1.0, "records were batched: {m:?}");
    assert_eq!(m.buffer_available, m.buffer_total, "all memory returned");
    producer.close().await;
}

#[tokio::test]
async fn every_codec_round_trips_through_the_broker() {
    let cluster = cluster(1, "c", 1).await;
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut expected = Vec::new();
    for (round, codec) in codecs.into_iter().enumerate() {
        let producer = builder(&cluster)
            .compression(codec)
            .connect()
            .await
            .unwrap();
        let mut futures = Vec::new();
        for i in 0..200u32 {
            let n = round as u32 * 1000 + i;
            expected.push(n);
            let record = ProducerRecord::new("c")
                .value(value(n))
                .header("codec", Some(Bytes::from(codec.to_string())));
            futures.push(producer.send(record).await.unwrap());
        }
        for f in futures {
            f.await.unwrap();
        }
        producer.close().await;
    }
    assert_eq!(log_values(&cluster, "c", 0), expected);
    let records = cluster.records("c", 0);
    assert_eq!(
        records[999]
            .headers_owned()
            .iter()
            .next()
            .unwrap()
            .value
            .as_deref(),
        Some(&b"zstd"[..])
    );
}

#[tokio::test]
async fn flush_sends_lingering_batches_and_waits_for_them() {
    let cluster = cluster(1, "t", 2).await;
    let producer = builder(&cluster)
        .linger(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let futures = send_values(&producer, "t", 10).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        futures.iter().all(|f| !f.is_done()),
        "a 60 s linger holds them"
    );
    tokio::time::timeout(Duration::from_secs(5), producer.flush())
        .await
        .unwrap();
    assert!(
        futures.iter().all(|f| f.is_done()),
        "flush returns after every outcome"
    );
    for f in futures {
        f.await.unwrap();
    }
}

#[tokio::test]
async fn close_delivers_what_was_accepted_and_refuses_more() {
    let cluster = cluster(1, "t", 1).await;
    let producer = builder(&cluster)
        .linger(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let futures = send_values(&producer, "t", 50).await;
    producer.close().await;
    for f in futures {
        f.await.unwrap();
    }
    assert_eq!(log_values(&cluster, "t", 0), (0..50).collect::<Vec<_>>());
    let err = producer
        .send(ProducerRecord::new("t").value(value(99)))
        .await
        .unwrap_err();
    assert!(matches!(err, ProduceError::Closed), "{err}");
}

#[tokio::test]
async fn dropping_the_producer_still_delivers_in_the_background() {
    let cluster = cluster(1, "t", 1).await;
    let producer = builder(&cluster)
        .linger(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let f = producer
        .send(ProducerRecord::new("t").value(value(7)))
        .await
        .unwrap();
    drop(producer);
    let m = tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.offset, Some(0));
}

#[tokio::test]
async fn a_full_buffer_blocks_send_until_a_response_frees_memory() {
    let cluster = cluster(1, "t", 1).await;
    // The first produce is answered only after 300 ms.
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::Delay(Duration::from_millis(300))
    });
    let producer = builder(&cluster)
        .batch_size(1024)
        .buffer_memory(2048)
        .linger(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    let payload = Bytes::from(vec![7u8; 900]);
    let first = producer
        .send(ProducerRecord::new("t").value(payload.clone()))
        .await
        .unwrap();
    let second = producer
        .send(ProducerRecord::new("t").value(payload.clone()))
        .await
        .unwrap();
    let started = Instant::now();
    // Two 1 KiB batches hold all 2 KiB: the third waits for the first's answer.
    let third = producer
        .send(ProducerRecord::new("t").value(payload.clone()))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "it blocked: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "woken by the release: {waited:?}"
    );
    for f in [first, second, third] {
        f.await.unwrap();
    }
    let m = producer.metrics();
    assert!(
        m.blocked_calls >= 1 && m.blocked_time >= Duration::from_millis(100),
        "{m:?}"
    );
}

#[tokio::test]
async fn a_stalled_broker_makes_send_fail_after_max_block_and_try_send_fail_at_once() {
    let cluster = cluster(1, "t", 1).await;
    cluster.on(ApiKey::PRODUCE, Times::Always, |_| Control::NoAnswer);
    let producer = builder(&cluster)
        .batch_size(1024)
        .buffer_memory(4096)
        .linger(Duration::ZERO)
        .max_block(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let payload = Bytes::from(vec![1u8; 900]);
    let mut accepted = 0;
    let err = loop {
        match producer
            .send(ProducerRecord::new("t").value(payload.clone()))
            .await
        {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted <= 4, "memory is bounded by buffer_memory");
    };
    match &err {
        ProduceError::BufferExhausted {
            waited,
            buffer_memory,
        } => {
            assert!(*waited >= Duration::from_millis(290), "{waited:?}");
            assert_eq!(*buffer_memory, 4096);
        }
        other => panic!("expected BufferExhausted, got {other}"),
    }
    assert!(err.to_string().contains("buffer exhausted"), "{err}");
    assert!(matches!(
        producer.try_send(ProducerRecord::new("t").value(payload)),
        Err(ProduceError::BufferFull)
    ));
    assert_eq!(producer.metrics().buffer_available, 0);
}

#[tokio::test]
async fn a_cancelled_send_appends_nothing_and_holds_no_memory() {
    let cluster = cluster(1, "t", 1).await;
    let stall = cluster.on(ApiKey::PRODUCE, Times::Always, |_| {
        Control::Delay(Duration::from_millis(400))
    });
    let producer = builder(&cluster)
        .batch_size(1024)
        .buffer_memory(1024)
        .linger(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    let big = |n: u32| {
        let mut v = vec![0u8; 900];
        v[..4].copy_from_slice(&n.to_be_bytes());
        Bytes::from(v)
    };
    let first = producer
        .send(ProducerRecord::new("t").value(big(1)))
        .await
        .unwrap();
    // The buffer is full; this send is cancelled while it waits.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        producer.send(ProducerRecord::new("t").value(big(2))),
    )
    .await;
    assert!(cancelled.is_err(), "it was waiting for memory");
    first.await.unwrap();
    cluster.remove_hook(stall);
    producer.flush().await;
    assert_eq!(producer.metrics().buffer_available, 1024, "nothing leaked");
    let third = producer
        .send(ProducerRecord::new("t").value(big(3)))
        .await
        .unwrap();
    third.await.unwrap();
    let log: Vec<u8> = cluster
        .records("t", 0)
        .iter()
        .map(|r| r.value().unwrap()[3])
        .collect();
    assert_eq!(log, vec![1, 3], "the cancelled record was never sent");
}

#[tokio::test]
async fn try_send_learns_an_unknown_topic_without_waiting() {
    let cluster = cluster(1, "t", 1).await;
    let producer = producer(&cluster).await;
    let err = producer
        .try_send(ProducerRecord::new("t").value(value(1)))
        .unwrap_err();
    assert!(matches!(err, ProduceError::UnknownTopic { .. }), "{err}");
    // The metadata it asked for arrives; then it appends.
    let deadline = Instant::now() + Duration::from_secs(5);
    let f = loop {
        match producer.try_send(ProducerRecord::new("t").value(value(1))) {
            Ok(f) => break f,
            Err(ProduceError::UnknownTopic { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    f.await.unwrap();
}

#[tokio::test]
async fn a_missing_topic_is_created_where_the_broker_allows_it() {
    // As Java's producer: its metadata requests ask for auto-creation; the broker decides.
    let cluster = cluster(1, "t", 1).await;
    let producer = producer(&cluster).await;
    let delivered = producer
        .send(ProducerRecord::new("fresh").value(value(7)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(delivered.offset, Some(0));
    assert_eq!(log_values(&cluster, "fresh", delivered.partition), [7]);
}

#[tokio::test]
async fn a_topic_deleted_under_the_producer_is_not_created_again() {
    let cluster = cluster(1, "t", 1).await;
    let producer = builder(&cluster)
        .linger(Duration::ZERO)
        .max_block(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(200))
        .delivery_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let send = |v| producer.send(ProducerRecord::new("fresh").value(value(v)));
    send(1).await.unwrap().await.unwrap();
    cluster.state().delete_topic("fresh").unwrap();
    // Refreshes keep asking about the topic, but no longer for its creation: the next record
    // fails and the broker still has no such topic.
    producer.metadata().refresh().await.unwrap();
    match send(2).await {
        Err(e) => assert!(e.to_string().contains("fresh"), "{e}"),
        Ok(delivery) => assert!(delivery.await.is_err()),
    }
    producer.metadata().refresh().await.unwrap();
    assert!(cluster.state().topic("fresh").is_none());
}

#[tokio::test]
async fn unknown_topic_fails_after_max_block() {
    // A broker that does not create topics on request.
    let cluster = krafka_mock::MockCluster::builder()
        .topic("t", 1)
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    let producer = builder(&cluster)
        .max_block(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let err = producer
        .send(ProducerRecord::new("missing").value(value(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProduceError::UnknownTopic { waited, .. } if waited >= Duration::from_millis(290)),
        "{err}"
    );
}

#[test]
fn send_blocking_works_on_a_plain_thread_and_refuses_a_runtime_thread() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (cluster, producer) = runtime.block_on(async {
        let cluster = cluster(1, "t", 1).await;
        let producer = producer(&cluster).await;
        (cluster, producer)
    });
    let p = producer.clone();
    let outcome = std::thread::spawn(move || {
        let futures: Vec<_> = (0..20)
            .map(|i| {
                p.send_blocking(ProducerRecord::new("t").value(value(i)))
                    .unwrap()
            })
            .collect();
        futures
            .into_iter()
            .map(|f| f.wait().unwrap().offset.unwrap())
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert_eq!(outcome, (0..20).collect::<Vec<i64>>());
    let refused = runtime.block_on(async { producer.send_blocking(ProducerRecord::new("t")) });
    assert!(matches!(refused, Err(ProduceError::BlockingInAsyncContext)));
    runtime.block_on(async {
        producer.close().await;
        drop(cluster);
    });
}

#[tokio::test]
async fn records_larger_than_a_request_are_refused_up_front() {
    let cluster = cluster(1, "t", 1).await;
    let producer = builder(&cluster)
        .max_request_size(1000)
        .connect()
        .await
        .unwrap();
    let err = producer
        .send(ProducerRecord::new("t").value(vec![0u8; 2000]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProduceError::RecordTooLarge {
                setting: "max_request_size",
                ..
            }
        ),
        "{err}"
    );
    let err = producer
        .send(ProducerRecord::new("t").partition(5).value(value(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProduceError::InvalidPartition { partitions: 1, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn message_too_large_splits_the_batch_and_keeps_order() {
    let cluster = cluster(1, "t", 1).await;
    // The broker refuses any partition payload over 3000 bytes.
    cluster.on(ApiKey::PRODUCE, Times::Always, |info| match info.body {
        RequestBody::Produce(r)
            if r.topic_data.iter().any(|t| {
                t.partition_data
                    .iter()
                    .any(|p| p.records.as_ref().is_some_and(|b| b.len() > 3000))
            }) =>
        {
            Control::Error(ErrorCode::MESSAGE_TOO_LARGE)
        }
        _ => Control::Pass,
    });
    let producer = builder(&cluster)
        .linger(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let payload = |i: u32| {
        let mut v = vec![0u8; 96];
        v[..4].copy_from_slice(&i.to_be_bytes());
        Bytes::from(v)
    };
    let mut futures = Vec::new();
    for i in 0..100u32 {
        futures.push(
            producer
                .send(ProducerRecord::new("t").value(payload(i)))
                .await
                .unwrap(),
        );
    }
    producer.flush().await;
    let offsets: Vec<Option<i64>> = futures.into_iter().map(|f| futures_now(f).offset).collect();
    assert_eq!(offsets, (0..100).map(Some).collect::<Vec<_>>());
    let log: Vec<u32> = cluster
        .records("t", 0)
        .iter()
        .map(|r| u32::from_be_bytes(r.value().unwrap()[..4].try_into().unwrap()))
        .collect();
    assert_eq!(log, (0..100).collect::<Vec<_>>());
    assert!(producer.metrics().splits >= 2, "{:?}", producer.metrics());
}

/// The outcome of a future that is already done.
fn futures_now(f: krafka_producer::DeliveryFuture) -> krafka_producer::RecordMetadata {
    assert!(f.is_done());
    f.wait().unwrap()
}

#[tokio::test]
async fn a_fenced_producer_fails_fast_and_clearly() {
    let cluster = cluster(1, "t", 1).await;
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::Error(ErrorCode::PRODUCER_FENCED)
    });
    let producer = producer(&cluster).await;
    let f = producer
        .send(ProducerRecord::new("t").value(value(1)))
        .await
        .unwrap();
    let err = f.await.unwrap_err();
    assert!(
        matches!(
            err,
            ProduceError::Fatal {
                code: ErrorCode::PRODUCER_FENCED,
                ..
            }
        ),
        "{err}"
    );
    let later = producer
        .send(ProducerRecord::new("t").value(value(2)))
        .await
        .unwrap_err();
    assert!(matches!(later, ProduceError::Fatal { .. }), "{later}");
    assert!(later.to_string().contains("PRODUCER_FENCED"), "{later}");
}

#[tokio::test]
async fn delivery_timeout_says_whether_records_may_have_been_written_then_recovers() {
    let cluster = cluster(1, "t", 1).await;
    let stall = cluster.on(ApiKey::PRODUCE, Times::Always, |_| Control::NoAnswer);
    let producer = builder(&cluster)
        .linger(Duration::ZERO)
        .request_timeout(Duration::from_millis(200))
        .delivery_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let f = producer
        .send(ProducerRecord::new("t").value(value(1)))
        .await
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProduceError::DeliveryTimeout {
                written: Written::Maybe,
                ..
            }
        ),
        "it was sent and never answered: {err}"
    );
    assert!(err.may_have_been_written());
    cluster.remove_hook(stall);
    // The next records go out under a bumped epoch (the old sequence is unsettled).
    let f = producer
        .send(ProducerRecord::new("t").value(value(2)))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .unwrap()
        .unwrap();
    assert!(producer.metrics().epoch_bumps >= 1);
    let log = log_values(&cluster, "t", 0);
    assert!(log == vec![2] || log == vec![1, 2], "no duplicate: {log:?}");
}

#[tokio::test]
async fn acks_zero_is_fire_and_forget() {
    let cluster = cluster(1, "t", 1).await;
    let producer = builder(&cluster)
        .acks(Acks::None)
        .idempotence(false)
        .connect()
        .await
        .unwrap();
    let futures = send_values(&producer, "t", 30).await;
    for f in futures {
        assert_eq!(f.await.unwrap().offset, None, "no answer, no offset");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while log_values(&cluster, "t", 0).len() < 30 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log_values(&cluster, "t", 0), (0..30).collect::<Vec<_>>());
}

#[tokio::test]
async fn round_robin_and_custom_partitioners() {
    #[derive(Debug)]
    struct Last;
    impl krafka_producer::Partitioner for Last {
        fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, n: u32) -> Option<u32> {
            Some(n - 1)
        }
    }
    let cluster = cluster(1, "t", 4).await;
    let rr = builder(&cluster)
        .partitioner(PartitionerChoice::RoundRobin)
        .connect()
        .await
        .unwrap();
    let mut parts = Vec::new();
    for i in 0..8 {
        parts.push(
            rr.send(ProducerRecord::new("t").key("same").value(value(i)))
                .await
                .unwrap()
                .await
                .unwrap()
                .partition,
        );
    }
    let mut sorted = parts[..4].to_vec();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![0, 1, 2, 3],
        "each partition once per round: {parts:?}"
    );
    assert_eq!(parts[..4], parts[4..]);
    let custom = builder(&cluster)
        .custom_partitioner(Arc::new(Last))
        .connect()
        .await
        .unwrap();
    let m = custom
        .send(ProducerRecord::new("t").value(value(1)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(m.partition, 3);
}

#[tokio::test]
async fn conflicting_settings_are_refused_before_connecting() {
    let err = krafka_producer::ProducerBuilder::new()
        .bootstrap_servers("127.0.0.1:1")
        .acks(Acks::Leader)
        .connect()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("idempotence needs acks=all"),
        "{err}"
    );
}

#[tokio::test]
async fn block_forever_settings_do_not_overflow() {
    let cluster = cluster(1, "t", 1).await;
    let forever = Duration::from_secs(u64::MAX);
    let producer = builder(&cluster)
        .max_block(forever)
        .delivery_timeout(forever)
        .connect()
        .await
        .unwrap();
    let m = producer
        .send(ProducerRecord::new("t").value(value(1)))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(m.offset, Some(0));
}
