//! The mock broker's own speed, since it is also the benchmark broker: ingest of pipelined
//! Produce requests carrying 16 KiB batches of 100-byte records, and serving Fetch requests,
//! over loopback TCP on one connection.
//!
//! Run: `cargo bench -p krafka-benches --bench mock`. Numbers are in `docs/performance.md`.

#![allow(missing_docs)]
// criterion_group! generates undocumented items
// A benchmark is a harness like a test: a failed step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use krafka_benches::{batch_16k, fetch_request, produce_request};
use krafka_mock::MockCluster;
use krafka_protocol::header::encode_request_frame;
use krafka_protocol::messages::RequestHeader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Requests per measured iteration, all written before the first answer is read.
const PIPELINE: usize = 64;

fn frame<M: krafka_protocol::RequestMessage>(body: &M, version: i16, id: i32) -> Bytes {
    let header = RequestHeader {
        correlation_id: id,
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_request_frame(&mut buf, &header, body, version).unwrap();
    buf.freeze()
}

async fn read_frames(stream: &mut TcpStream, count: usize, scratch: &mut Vec<u8>) -> usize {
    let mut total = 0;
    for _ in 0..count {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await.unwrap();
        let len = u32::from_be_bytes(len) as usize;
        scratch.resize(len, 0);
        stream.read_exact(scratch).await.unwrap();
        total += len;
    }
    total
}

fn ingest_and_serve(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = runtime
        .block_on(MockCluster::builder().topic("bench", 1).start())
        .unwrap();
    let addr = cluster.broker_addrs()[0];
    let (records, per_batch) = batch_16k().unwrap();
    let produce = produce_request("bench", records.clone());
    let requests: Vec<u8> = (0..PIPELINE)
        .flat_map(|i| frame(&produce, 9, i as i32).to_vec())
        .collect();
    let mut stream = runtime.block_on(TcpStream::connect(addr)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut scratch = Vec::new();

    let mut group = c.benchmark_group("mock");
    group.throughput(Throughput::Elements(per_batch * PIPELINE as u64));
    group.bench_function(
        format!("ingest/{PIPELINE}x16KiB produce, 100B records"),
        |b| {
            b.iter(|| {
                runtime.block_on(async {
                    stream.write_all(&requests).await.unwrap();
                    black_box(read_frames(&mut stream, PIPELINE, &mut scratch).await)
                })
            })
        },
    );

    // Serving: fetch 1 MiB at a time from a log the ingest benchmark filled.
    let fetch = fetch_request("bench", 0);
    let fetches: Vec<u8> = (0..16)
        .flat_map(|i| frame(&fetch, 12, i).to_vec())
        .collect();
    let served = runtime.block_on(async {
        stream
            .write_all(&fetches[..fetches.len() / 16])
            .await
            .unwrap();
        read_frames(&mut stream, 1, &mut scratch).await
    });
    group.throughput(Throughput::Bytes((served * 16) as u64));
    group.bench_function("serve/16 fetches of 1 MiB", |b| {
        b.iter(|| {
            runtime.block_on(async {
                stream.write_all(&fetches).await.unwrap();
                black_box(read_frames(&mut stream, 16, &mut scratch).await)
            })
        })
    });
    group.finish();
    runtime.block_on(cluster.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = ingest_and_serve
}
criterion_main!(benches);
