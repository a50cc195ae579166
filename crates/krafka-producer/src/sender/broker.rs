//! One broker's produce lane: a task that puts the sender's requests on the broker's
//! connection in the order the sender made them, and a task that awaits their responses in the
//! same order and reports each back to the sender.
//!
//! Order matters for idempotence: a partition's batches must reach the broker in sequence
//! order, so each broker has exactly one task enqueueing, on one connection at a time (a new one
//! only after the old one failed, which fails everything in flight on it too).

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

/// Starts the lane of broker `broker_id`.
pub(crate) fn spawn_lane(
    broker_id: i32,
    pool: ConnectionPool,
    events: UnboundedSender<Event>,
) -> UnboundedSender<ProduceJob> {
    let (jobs_tx, jobs_rx) = unbounded_channel();
    let (answers_tx, answers_rx) = unbounded_channel();
    tokio::spawn(enqueuer(broker_id, pool, jobs_rx, answers_tx));
    tokio::spawn(awaiter(answers_rx, events));
    jobs_tx
}

/// A request's response to wait for, or its result already.
enum Pending {
    Response(ResponseFuture),
    Done(JobResult),
}

async fn enqueuer(
    broker_id: i32,
    pool: ConnectionPool,
    mut jobs: UnboundedReceiver<ProduceJob>,
    answers: UnboundedSender<(u64, Instant, Pending)>,
) {
    let mut connection: Option<BrokerConnection> = None;
    while let Some(job) = jobs.recv().await {
        let started = Instant::now();
        let pending = match submit(broker_id, &pool, &mut connection, &job.request).await {
            Ok(p) => p,
            Err(error) => Pending::Done(JobResult::Failed { error, sent: false }),
        };
        if answers.send((job.request_id, started, pending)).is_err() {
            return;
        }
    }
}

async fn submit(
    broker_id: i32,
    pool: &ConnectionPool,
    connection: &mut Option<BrokerConnection>,
    request: &ProduceRequest,
) -> Result<Pending, NetError> {
    let conn = match connection.as_ref().filter(|c| c.is_usable()) {
        Some(c) => c.clone(),
        None => {
            let c = pool.get_connection_by_id(broker_id).await?;
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
