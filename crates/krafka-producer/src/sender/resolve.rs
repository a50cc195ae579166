//! The sender carrying out a produce answer: each batch of the request gets its verdict from
//! [`outcome`](super::outcome) (plain code, table-tested) and is acknowledged, retried in
//! order after a backoff, split, or failed here, with the partition's bookkeeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::ProduceResponse;
use krafka_protocol::messages::produce_response::PartitionProduceResponse;

use super::Sender;
use super::event::JobResult;
use super::outcome::{self, BatchFacts, FailKind, MetadataHint, Verdict};
use crate::batch::ProducerBatch;
use crate::delivery::Outcome;
use crate::error::{ProduceError, Written};

impl Sender {
    /// Handles the answer (or failure) of request `request_id`, at `now` (backoffs of retried
    /// batches start then).
    pub(super) fn on_response(
        &mut self,
        request_id: u64,
        result: JobResult,
        latency: Duration,
        now: Instant,
    ) {
        let Some(request) = self.requests.remove(&request_id) else {
            return;
        };
        if let Some(lane) = self.brokers.get_mut(&request.lane) {
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
                    self.on_answer(i, batch, answer, now);
                }
            }
            JobResult::Failed { error, sent } => {
                tracing::debug!(broker = request.lane.0, slot = request.lane.1, %error, sent,
                    "produce request failed");
                let reason: Arc<str> = error.to_string().into();
                for (i, batch) in request.batches {
                    let facts = self.facts(i, &batch);
                    let verdict = outcome::connection_failed(error.is_retriable(), sent, facts);
                    let written =
                        if sent { Written::Maybe } else { Written::No }.max_with(batch.written);
                    let network = || ProduceError::Network {
                        error: error.clone(),
                        written,
                    };
                    self.carry_out(i, batch, verdict, reason.clone(), network, now);
                }
            }
        }
    }

    /// What [`outcome`] needs to know about `batch` of partition `i`.
    fn facts(&self, i: usize, batch: &ProducerBatch) -> BatchFacts {
        let p = &self.partitions[i];
        let next_expected = p.resolved_order.map_or(0, |o| o + 1);
        BatchFacts {
            record_count: batch.record_count,
            written: batch.written,
            stamped: batch.stamp.is_some(),
            earlier_batch_unresolved: p.hold || batch.drain_order > next_expected,
        }
    }

    fn on_answer(
        &mut self,
        i: usize,
        batch: ProducerBatch,
        answer: Option<&PartitionProduceResponse>,
        now: Instant,
    ) {
        let Some(answer) = answer else {
            let reason = "the broker's answer left the partition out".into();
            self.carry_out(
                i,
                batch,
                outcome::left_out(),
                reason,
                || ProduceError::Closed,
                now,
            );
            return;
        };
        let code = ErrorCode(answer.error_code);
        if code != ErrorCode::NONE {
            self.metrics.error(code);
        }
        let reason: Arc<str> = match &answer.error_message {
            Some(m) => format!("{code}: {}", m.as_str()).into(),
            None => code.to_string().into(),
        };
        let verdict = outcome::answered(code, self.facts(i, &batch));
        if let Verdict::Acknowledge { with_offset: true } = verdict {
            let offset = (answer.base_offset >= 0).then_some(answer.base_offset);
            let append_time = (answer.log_append_time_ms >= 0).then_some(answer.log_append_time_ms);
            self.acknowledge(i, batch, offset, append_time);
            return;
        }
        let written = batch.written;
        let broker = || ProduceError::Broker {
            code,
            message: answer.error_message.as_ref().map(|m| m.as_str().into()),
            written,
        };
        self.carry_out(i, batch, verdict, reason, broker, now);
    }

    /// Carries out `verdict` for `batch` of partition `i`; `error` is the batch's error when
    /// the verdict fails it with the broker's or the connection's error.
    fn carry_out(
        &mut self,
        i: usize,
        mut batch: ProducerBatch,
        verdict: Verdict,
        reason: Arc<str>,
        error: impl FnOnce() -> ProduceError,
        now: Instant,
    ) {
        match verdict {
            Verdict::Acknowledge { .. } => self.acknowledge(i, batch, None, None),
            Verdict::Split => self.split(i, batch, reason, now),
            Verdict::Retry {
                written,
                not_in_log,
                bump_epoch,
                metadata,
            } => {
                if bump_epoch {
                    tracing::warn!(topic = %batch.tp.topic, partition = batch.tp.partition,
                        %reason, "the broker lost this producer's state; bumping the epoch");
                    self.want_bump();
                }
                match metadata {
                    MetadataHint::None => {}
                    MetadataHint::Report(code) => {
                        self.metadata.report_error(code);
                    }
                    MetadataHint::Refresh => self.metadata.request_refresh(),
                }
                if not_in_log {
                    batch.written = Written::No;
                }
                self.retry(i, batch, written, reason, now);
            }
            Verdict::Fatal => {
                let fatal = match error() {
                    ProduceError::Broker { code, .. } => ProduceError::Fatal { code, reason },
                    other => other,
                };
                self.fail(batch, fatal.clone());
                self.set_fatal(fatal);
            }
            Verdict::Fail { kind, bump_epoch } => {
                if bump_epoch {
                    // Its sequence is spent: later batches need a new epoch.
                    self.want_bump();
                }
                let error = match kind {
                    FailKind::TooLarge => ProduceError::RecordTooLarge {
                        size: batch.size(),
                        limit: self.config.max_request_size,
                        setting: "the broker's max.message.bytes",
                    },
                    FailKind::Broker | FailKind::Network => error(),
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
    pub(super) fn retry(
        &mut self,
        i: usize,
        mut batch: ProducerBatch,
        written: Written,
        reason: Arc<str>,
        now: Instant,
    ) {
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
        // Each batch by its own attempts (KIP-580, as Java's producer): the batches of a cut
        // connection all fail at once and each waits one step, not a step more than the last.
        batch.retry_at = Some(now + p.backoff.delay_after(batch.attempts.max(1)));
        p.hold = true;
        let at = p
            .queue
            .iter()
            .position(|b| b.attempts == 0 || b.order_key() > batch.order_key())
            .unwrap_or(p.queue.len());
        p.queue.insert(at, batch);
    }

    fn split(&mut self, i: usize, batch: ProducerBatch, reason: Arc<str>, now: Instant) {
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
                self.retry(i, b, Written::No, reason.clone(), now);
                self.retry(i, a, Written::No, reason, now);
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
