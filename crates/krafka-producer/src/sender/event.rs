//! What wakes the sender: the accumulator's batches, the producer's flushes and closes, and the
//! results of its requests, all on one channel so they arrive in the order they happened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_net::NetError;
use krafka_protocol::messages::ProduceResponse;
use tokio::sync::oneshot;

use super::idempotence::InitError;
use crate::accumulator::PartitionQueue;
use crate::batch::ProducerBatch;

/// What wakes the sender.
#[derive(Debug)]
pub(crate) enum Event {
    /// A batch was sealed by the accumulator.
    Sealed(ProducerBatch),
    /// A batch was opened; seal it at `deadline` unless it fills first.
    Linger {
        queue: Arc<PartitionQueue>,
        batch_id: u64,
        deadline: Instant,
    },
    /// Resolve `done` once every batch sealed before this event has resolved.
    Flush(oneshot::Sender<()>),
    /// A request's result.
    Response {
        request_id: u64,
        result: JobResult,
        latency: Duration,
    },
    /// InitProducerId answered.
    ProducerId(Result<(i64, i16), InitError>),
    /// A metadata refresh the sender asked for finished.
    MetadataRefreshed,
    /// Stop once everything sealed has resolved; then resolve `done` (if any).
    Close(Option<oneshot::Sender<()>>),
}

/// What came of a request.
#[derive(Debug)]
pub(crate) enum JobResult {
    /// The broker answered.
    Answered(ProduceResponse),
    /// acks=0: written to the socket; there is no answer.
    Written,
    /// It failed before an answer. `sent` says whether it may have reached the broker.
    Failed { error: NetError, sent: bool },
}
