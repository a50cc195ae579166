//! A produce lane: one broker and one slot of its connection bundle (`connections_per_broker`
//! connections, so N > 1 uses all N); a task that puts the sender's requests on that
//! connection in the order the sender made them, and a task that awaits their responses in the
//! same order and reports each back to the sender.
//!
//! Order matters for idempotence: a partition's batches must reach the broker in sequence
//! order, so a partition always goes to the same lane ([`connection_slot`]), each lane has
//! exactly one task enqueueing, on one connection at a time (a new one only after the old one
//! failed, which fails everything in flight on it too).

use std::time::{Duration, Instant};

use krafka_net::{BrokerConnection, ConnectionPool, NetError, RequestPriority, ResponseFuture};
use krafka_protocol::messages::{ProduceRequest, ProduceResponse};
use krafka_protocol::{ApiKey, Encode};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::event::{Event, JobResult};

/// The highest Produce version this client speaks (topic names; v13 switches to topic ids).
const MAX_PRODUCE_VERSION: i16 = 11;
/// Record batches (magic 2) need Produce v3.
const MIN_PRODUCE_VERSION: i16 = 3;

/// A request for the lane.
#[derive(Debug)]
pub(crate) struct ProduceJob {
    pub(crate) request_id: u64,
    pub(crate) request: ProduceRequest,
}

/// The slot of its leader's connection bundle that `topic`/`partition` is sent on, of
/// `connections`: fixed for the partition, and consecutive partitions of a topic on
/// consecutive slots (the topic's name offsets the first, so topics do not all start at 0).
pub(crate) fn connection_slot(topic: &str, partition: i32, connections: usize) -> usize {
    if connections <= 1 {
        return 0;
    }
    // FNV-1a: stable across runs and processes, unlike std's RandomState.
    let topic_hash = topic.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let partition = u64::from(partition.unsigned_abs());
    (topic_hash.wrapping_add(partition) % connections as u64) as usize
}

/// Starts the lane of broker `lane.0`, on slot `lane.1` of its bundle.
pub(crate) fn spawn_lane(
    lane: (i32, usize),
    pool: ConnectionPool,
    events: UnboundedSender<Event>,
) -> UnboundedSender<ProduceJob> {
    let (jobs_tx, jobs_rx) = unbounded_channel();
    let (answers_tx, answers_rx) = unbounded_channel();
    tokio::spawn(enqueuer(lane, pool, jobs_rx, answers_tx));
    tokio::spawn(awaiter(answers_rx, events));
    jobs_tx
}

/// A request's response to wait for, or its result already.
enum Pending {
    Response(ResponseFuture),
    Done(JobResult),
}

async fn enqueuer(
    lane: (i32, usize),
    pool: ConnectionPool,
    mut jobs: UnboundedReceiver<ProduceJob>,
    answers: UnboundedSender<(u64, Instant, Pending)>,
) {
    let mut connection: Option<BrokerConnection> = None;
    while let Some(job) = jobs.recv().await {
        let started = Instant::now();
        let pending = match submit(lane, &pool, &mut connection, &job.request).await {
            Ok(p) => p,
            Err(error) => Pending::Done(JobResult::Failed { error, sent: false }),
        };
        if answers.send((job.request_id, started, pending)).is_err() {
            return;
        }
    }
}

async fn submit(
    (broker_id, slot): (i32, usize),
    pool: &ConnectionPool,
    connection: &mut Option<BrokerConnection>,
    request: &ProduceRequest,
) -> Result<Pending, NetError> {
    let conn = match connection.as_ref().filter(|c| c.is_usable()) {
        Some(c) => c.clone(),
        None => {
            let c = slot_connection(pool, broker_id, slot).await?;
            *connection = Some(c.clone());
            c
        }
    };
    let version = conn.version_in(ApiKey::PRODUCE, MIN_PRODUCE_VERSION..=MAX_PRODUCE_VERSION)?;
    if request.acks == 0 {
        conn.send_without_response(ApiKey::PRODUCE, version, |buf| request.encode(buf, version))
            .await?;
        return Ok(Pending::Done(JobResult::Written));
    }
    let size = request.encoded_size(version)?;
    let future = conn
        .enqueue(
            ApiKey::PRODUCE,
            version,
            RequestPriority::Normal,
            size,
            |buf| request.encode(buf, version),
        )
        .await?;
    Ok(Pending::Response(future))
}

/// The usable connection in `slot` of broker `broker_id`'s bundle, replacing it when it died.
///
/// Cancel-safe: as the pool's and the bundle's own calls.
async fn slot_connection(
    pool: &ConnectionPool,
    broker_id: i32,
    slot: usize,
) -> Result<BrokerConnection, NetError> {
    let addr = pool
        .broker_addr(broker_id)
        .ok_or(NetError::UnknownBroker(broker_id))?;
    let bundle = pool.get_bundle(&addr).await?;
    let usable = |bundle: &krafka_net::BrokerConnectionBundle| {
        bundle
            .get(slot % bundle.len().max(1))
            .filter(BrokerConnection::is_usable)
    };
    if let Some(conn) = usable(&bundle) {
        return Ok(conn);
    }
    bundle.repair().await?;
    // Lost again at once: any usable connection keeps the lane going (this lane alone
    // enqueues its partitions, so their order holds on whichever socket it uses).
    usable(&bundle)
        .or_else(|| bundle.select())
        .ok_or(NetError::NoBrokerAvailable { last_error: None })
}

async fn awaiter(
    mut answers: UnboundedReceiver<(u64, Instant, Pending)>,
    events: UnboundedSender<Event>,
) {
    while let Some((request_id, started, pending)) = answers.recv().await {
        let result = match pending {
            Pending::Done(result) => result,
            Pending::Response(future) => match future.await {
                Ok(response) => match response.decode::<ProduceResponse>() {
                    Ok(decoded) => JobResult::Answered(decoded),
                    Err(error) => JobResult::Failed { error, sent: true },
                },
                Err(error) => JobResult::Failed { error, sent: true },
            },
        };
        let latency: Duration = started.elapsed();
        if events
            .send(Event::Response {
                request_id,
                result,
                latency,
            })
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection_slot;

    #[test]
    fn a_partition_keeps_its_slot_and_consecutive_partitions_use_every_slot() {
        assert_eq!(connection_slot("orders", 5, 1), 0);
        assert_eq!(connection_slot("orders", 5, 0), 0);
        for connections in [2, 3, 4, 8] {
            let slots: Vec<usize> = (0..connections as i32)
                .map(|p| connection_slot("orders", p, connections))
                .collect();
            let mut distinct = slots.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), connections, "{slots:?}");
            assert_eq!(
                slots,
                (0..connections as i32)
                    .map(|p| connection_slot("orders", p, connections))
                    .collect::<Vec<_>>(),
                "stable"
            );
        }
    }
}
