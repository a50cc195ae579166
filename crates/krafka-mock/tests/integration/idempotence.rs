//! The broker side of idempotent producers over TCP: producer ids, epoch bumps (KIP-360), and
//! sequence checks, including a retry after an answer was lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use bytes::Bytes;
use krafka_mock::{Control, MockCluster, Times};
use krafka_protocol::compression::Codecs;
use krafka_protocol::messages as m;
use krafka_protocol::records::{BatchOptions, RecordBatchBuilder};
use krafka_protocol::{ApiKey, ErrorCode};
use support::{RawClient, produce};

fn idempotent_batch(producer_id: i64, epoch: i16, sequence: i32, count: usize) -> Bytes {
    let mut builder = RecordBatchBuilder::new(BatchOptions {
        producer_id,
        producer_epoch: epoch,
        base_sequence: sequence,
        ..Default::default()
    });
    for i in 0..count {
        builder
            .append(1_700_000_000_000 + i as i64, None, Some(b"v"), &[])
            .unwrap();
    }
    builder.finish(&Codecs::default()).unwrap()
}

fn outcome(response: &m::ProduceResponse) -> (i16, i64) {
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn init(client: &mut RawClient, current: Option<(i64, i16)>) -> m::InitProducerIdResponse {
    let (producer_id, producer_epoch) = current.unwrap_or((-1, -1));
    client
        .call(
            &m::InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                producer_id,
                producer_epoch,
                ..Default::default()
            },
            4,
        )
        .await
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_is_acknowledged_once() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let addr = cluster.broker_addrs()[0];
    let mut client = RawClient::connect(addr).await;
    let id = init(&mut client, None).await;
    assert_eq!((id.error_code, id.producer_epoch), (0, 0));
    let pid = id.producer_id;

    let first = idempotent_batch(pid, 0, 0, 3);
    assert_eq!(
        outcome(&client.call(&produce("t", 0, first, -1), 9).await),
        (0, 0)
    );

    // The next produce is applied but its answer is lost with the connection.
    cluster.on(ApiKey::PRODUCE, Times::Once, |_| {
        Control::ApplyThenDisconnect
    });
    let second = idempotent_batch(pid, 0, 3, 2);
    client.send(&produce("t", 0, second.clone(), -1), 9).await;
    let mut client = RawClient::connect(addr).await;
    // The producer retries the same batch: acknowledged with the original offset.
    assert_eq!(
        outcome(&client.call(&produce("t", 0, second, -1), 9).await),
        (0, 3)
    );
    assert_eq!(cluster.records("t", 0).len(), 5, "stored exactly once");

    let gap = idempotent_batch(pid, 0, 9, 1);
    assert_eq!(
        outcome(&client.call(&produce("t", 0, gap, -1), 9).await).0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0
    );
    assert_eq!(cluster.records("t", 0).len(), 5);
    cluster.shutdown().await;
}

#[tokio::test]
async fn an_epoch_bump_fences_the_old_epoch_and_restarts_sequences() {
    let cluster = MockCluster::builder().topic("t", 1).start().await.unwrap();
    let mut client = RawClient::connect(cluster.broker_addrs()[0]).await;
    let pid = init(&mut client, None).await.producer_id;
    client
        .call(&produce("t", 0, idempotent_batch(pid, 0, 0, 1), -1), 9)
        .await;

    let bumped = init(&mut client, Some((pid, 0))).await;
    assert_eq!((bumped.producer_id, bumped.producer_epoch), (pid, 1));
    let stale = init(&mut client, Some((pid, 0))).await;
    assert_eq!(stale.error_code, ErrorCode::INVALID_PRODUCER_EPOCH.0);

    // A partition learns of the new epoch from its first batch, which must start at 0.
    let not_from_zero = idempotent_batch(pid, 1, 1, 1);
    assert_eq!(
        outcome(&client.call(&produce("t", 0, not_from_zero, -1), 9).await).0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER.0
    );
    let fresh = idempotent_batch(pid, 1, 0, 1);
    assert_eq!(
        outcome(&client.call(&produce("t", 0, fresh, -1), 9).await),
        (0, 1)
    );
    // From then on the old epoch is fenced there.
    let old_epoch = idempotent_batch(pid, 0, 1, 1);
    assert_eq!(
        outcome(&client.call(&produce("t", 0, old_epoch, -1), 9).await).0,
        ErrorCode::INVALID_PRODUCER_EPOCH.0
    );
    assert_eq!(cluster.records("t", 0).len(), 2);
    cluster.shutdown().await;
}
