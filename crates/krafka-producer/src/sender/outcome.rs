//! What a produce answer means for each batch in it: acknowledged, retried (and whether the
//! attempt may have written it), split, failed, or a reason to bump the epoch or stop.
//!
//! Kafka's rules, as the Java client applies them to an idempotent producer:
//! - retriable errors retry the batch with its sequence after a backoff (the broker drops
//!   duplicates of its last five batches), refreshing metadata when the leader moved;
//! - DUPLICATE_SEQUENCE_NUMBER means the batch is in the log (offset unknown);
//! - OUT_OF_ORDER_SEQUENCE_NUMBER after an earlier batch of the partition failed is just that
//!   failure's echo: retry in order. Without one, the broker lost our state, as with
//!   UNKNOWN_PRODUCER_ID: bump the epoch and resend (the batch is known not to be in the log);
//! - MESSAGE_TOO_LARGE splits the batch in two, keeping its sequence range;
//! - fencing and cluster authorization errors stop the producer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::ProduceResponse;
use krafka_protocol::messages::produce_response::PartitionProduceResponse;

use super::Sender;
use super::event::JobResult;
use crate::batch::ProducerBatch;
use crate::delivery::Outcome;
use crate::error::{ProduceError, Written};

impl Sender {
    pub(super) fn on_response(&mut self, request_id: u64, result: JobResult, latency: Duration) {
        let Some(request) = self.requests.remove(&request_id) else {
            return;
        };
        if let Some(lane) = self.brokers.get_mut(&request.broker) {
            lane.in_flight = lane.in_flight.saturating_sub(1);
        }
        for (i, _) in &request.batches {
            let p = &mut self.partitions[*i];
            p.in_flight = p.in_flight.saturating_sub(1);
        }
        match result {
            JobResult::Written => {
                for (i, batch) in request.batches {
                    self.acknowledge(i, batch, None, None);
                }
            }
            JobResult::Answered(response) => {
                self.metrics.request_answered(latency);
                for (i, batch) in request.batches {
                    let answer = find_answer(&response, &batch);
                    self.on_answer(i, batch, answer);
                }
            }
            JobResult::Failed { error, sent } => {
                tracing::debug!(broker = request.broker, %error, sent, "produce request failed");
                let written = if sent { Written::Maybe } else { Written::No };
                if error.is_retriable() {
                    self.metadata.request_refresh();
                    let reason: Arc<str> = error.to_string().into();
                    for (i, batch) in request.batches {
                        self.retry(i, batch, written, reason.clone());
                    }
                } else {
                    for (_, batch) in request.batches {
                        let written = written.max_with(batch.written);
                        if batch.stamp.is_some() {
                            self.want_bump();
                        }
                        self.fail(
                            batch,
                            ProduceError::Network {
                                error: error.clone(),
                                written,
                            },
                        );
                    }
                }
            }
        }
    }

    fn on_answer(
        &mut self,
        i: usize,
        mut batch: ProducerBatch,
        answer: Option<&PartitionProduceResponse>,
    ) {
        let Some(answer) = answer else {
            self.retry(
                i,
                batch,
                Written::Maybe,
                "the broker's answer left the partition out".into(),
            );
            return;
        };
        let code = ErrorCode(answer.error_code);
        if code != ErrorCode::NONE {
            self.metrics.error(code);
        }
        let message = || -> Arc<str> {
            match &answer.error_message {
                Some(m) => format!("{code}: {}", m.as_str()).into(),
                None => code.to_string().into(),
            }
        };
        match code {
            ErrorCode::NONE => {
                let offset = (answer.base_offset >= 0).then_some(answer.base_offset);
                let append_time =
                    (answer.log_append_time_ms >= 0).then_some(answer.log_append_time_ms);
                self.acknowledge(i, batch, offset, append_time);
            }
            ErrorCode::DUPLICATE_SEQUENCE_NUMBER => self.acknowledge(i, batch, None, None),
            ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE
                if batch.record_count > 1 && batch.written == Written::No =>
            {
                self.split(i, batch, message());
            }
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID => {
                let p = &self.partitions[i];
                let next_expected = p.resolved_order.map_or(0, |o| o + 1);
                let explained = code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                    && (p.hold || batch.drain_order > next_expected);
                if !explained {
                    tracing::warn!(topic = %batch.tp.topic, partition = batch.tp.partition,
                        %code, "the broker lost this producer's state; bumping the epoch");
                    self.want_bump();
                }
                // The broker is behind this batch's sequence: it is not in the log.
                batch.written = Written::No;
                self.retry(i, batch, Written::No, message());
            }
            ErrorCode::INVALID_PRODUCER_EPOCH
            | ErrorCode::PRODUCER_FENCED
            | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
            | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => {
                let fatal = ProduceError::Fatal {
                    code,
                    reason: message(),
                };
                self.fail(batch, fatal.clone());
                self.set_fatal(fatal);
            }
            // The records reached the leader's log although the request failed.
            ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND | ErrorCode::REQUEST_TIMED_OUT => {
                self.retry(i, batch, Written::Maybe, message());
            }
            code if code.is_retriable() => {
                self.metadata.report_error(code);
                self.retry(i, batch, Written::No, message());
            }
            code => {
                if batch.stamp.is_some() {
                    // Its sequence is spent: later batches need a new epoch.
                    self.want_bump();
                }
                let error = if matches!(
                    code,
                    ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE
                ) {
                    ProduceError::RecordTooLarge {
                        size: batch.size(),
                        limit: self.config.max_request_size,
                        setting: "the broker's max.message.bytes",
                    }
                } else {
                    ProduceError::Broker {
                        code,
                        message: answer.error_message.as_ref().map(|m| m.as_str().into()),
                        written: batch.written,
                    }
                };
                self.fail(batch, error);
            }
        }
    }

    fn acknowledge(
        &mut self,
        i: usize,
        batch: ProducerBatch,
        offset: Option<i64>,
        append_time: Option<i64>,
    ) {
        let current = self.identity.as_ref().and_then(|id| id.current);
        let p = &mut self.partitions[i];
        p.backoff.reset();
        if batch
            .stamp
            .is_some_and(|s| Some((s.producer_id, s.epoch)) == current)
        {
            p.established = true;
        }
        p.resolved_order = Some(
            p.resolved_order
                .map_or(batch.drain_order, |o| o.max(batch.drain_order)),
        );
        self.metrics.batch_acked(batch.record_count, batch.size());
        batch.resolve(Outcome::Acked {
            base_offset: offset,
            log_append_time: append_time,
        });
        self.resolved(&batch);
    }

    /// Puts a batch back in its partition's queue, in drain order, after a backoff; the
    /// partition sends nothing until its other requests are back.
    fn retry(&mut self, i: usize, mut batch: ProducerBatch, written: Written, reason: Arc<str>) {
        if self.fatal.is_some() {
            let e = self.fatal.clone().unwrap_or(ProduceError::Closed);
            self.fail(batch, e);
            return;
        }
        let p = &mut self.partitions[i];
        batch.written = written.max_with(batch.written);
        tracing::debug!(topic = %batch.tp.topic, partition = batch.tp.partition,
            attempts = batch.attempts, %reason, "retrying batch");
        batch.last_error = Some(reason);
        batch.retry_at = Some(Instant::now() + p.backoff.next_delay());
        p.hold = true;
        let at = p
            .queue
            .iter()
            .position(|b| b.attempts == 0 || b.order_key() > batch.order_key())
            .unwrap_or(p.queue.len());
        p.queue.insert(at, batch);
    }

    fn split(&mut self, i: usize, batch: ProducerBatch, reason: Arc<str>) {
        let (topic, partition, count) = (
            batch.tp.topic.clone(),
            batch.tp.partition,
            batch.record_count,
        );
        let completion = batch.completion.clone();
        let first_delta = batch.first_delta;
        let reserved = batch.reserved;
        let arrival = batch.arrival;
        let stamped = batch.stamp.is_some();
        match batch.split(self.accumulator.codecs(), self.config.compression) {
            Ok(Some((a, b))) => {
                tracing::info!(%topic, partition, records = count, "splitting a batch the broker found too large");
                self.metrics.split();
                // The halves share the parent's arrival: count the second one.
                *self.unresolved.entry(arrival).or_default() += 1;
                self.retry(i, b, Written::No, reason.clone());
                self.retry(i, a, Written::No, reason);
            }
            Ok(None) | Err(_) => {
                // Unreachable for batches of 2+ records unless the batch is corrupt.
                if stamped {
                    self.want_bump();
                }
                self.metrics.batch_failed(count);
                completion.resolve(
                    first_delta,
                    Outcome::Failed(ProduceError::Encode("could not split a batch".into())),
                );
                self.settle(reserved, arrival);
            }
        }
    }
}

fn find_answer<'a>(
    response: &'a ProduceResponse,
    batch: &ProducerBatch,
) -> Option<&'a PartitionProduceResponse> {
    response
        .responses
        .iter()
        .find(|t| t.name.as_str() == &*batch.tp.topic)?
        .partition_responses
        .iter()
        .find(|p| p.index == batch.tp.partition)
}

impl Written {
    /// `Maybe` if either is.
    pub(crate) fn max_with(self, other: Written) -> Written {
        if self == Written::Maybe || other == Written::Maybe {
            Written::Maybe
        } else {
            Written::No
        }
    }
}
