//! Batched offset lookups: the partitions that need a starting offset (first assignment, a
//! seek to the beginning or end, OFFSET_OUT_OF_RANGE with a reset policy) are grouped by
//! leader into one ListOffsets request per broker, and all brokers are asked at once: 50
//! partitions led by 3 brokers take 3 requests.
//!
//! A partition whose lookup fails retries on its own backoff (100 ms doubling to 30 s, ±20%
//! jitter) and holds up no other partition, including the others in the same request.

use std::time::Instant;

use krafka_net::NetError;
use krafka_protocol::ErrorCode;
use krafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use krafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::core::{Event, Fetcher, Sent, by_topic, sent_key};
use crate::error::ConsumeError;

/// Lookup errors that are worth retrying (the leader moved, is being elected, or has not
/// caught up yet).
const RETRIABLE: [ErrorCode; 9] = [
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_LEADER_EPOCH,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode::LEADER_NOT_AVAILABLE,
    ErrorCode::OFFSET_NOT_AVAILABLE,
    ErrorCode::REPLICA_NOT_AVAILABLE,
    ErrorCode::KAFKA_STORAGE_ERROR,
    ErrorCode::REQUEST_TIMED_OUT,
];

pub(super) fn spawn_lookup(fetcher: &Fetcher, broker: i32, sent: Vec<Sent>) {
    let pool = fetcher.metadata.pool().clone();
    let events = fetcher.events_tx.clone();
    let request = request(fetcher.config.isolation_level.wire_value(), &sent);
    fetcher.shared.metrics.offsets_requested(sent.len() as u64);
    tokio::spawn(async move {
        let result = async {
            let conn = pool.get_connection_by_id(broker).await?;
            conn.send_negotiated(&request).await
        }
        .await;
        let _ = events.send(Event::Offsets {
            broker,
            sent,
            result,
        });
    });
}

fn request(isolation_level: i8, sent: &[Sent]) -> ListOffsetsRequest {
    let topics = by_topic(sent, sent_key, |s| ListOffsetsPartition {
        partition_index: s.partition.partition,
        current_leader_epoch: s.leader_epoch,
        timestamp: s.spec.timestamp(),
        max_num_offsets: 1,
        ..Default::default()
    })
    .into_iter()
    .map(|t| ListOffsetsTopic {
        name: t.name,
        partitions: t.entries,
        ..Default::default()
    })
    .collect();
    ListOffsetsRequest {
        replica_id: -1,
        isolation_level,
        topics,
        ..Default::default()
    }
}

pub(super) fn handle_lookup(
    fetcher: &mut Fetcher,
    broker: i32,
    sent: Vec<Sent>,
    result: Result<ListOffsetsResponse, NetError>,
) {
    let now = Instant::now();
    let shared = std::sync::Arc::clone(&fetcher.shared);
    let response = match result {
        Ok(response) => Some(response),
        Err(e) => {
            tracing::debug!(broker, error = %e, "ListOffsets failed");
            fetcher.metadata.request_refresh();
            None
        }
    };
    let mut woke_app = false;
    let mut state = shared.state.lock();
    let state = &mut *state;
    for s in sent {
        let Some(p) = state.partitions.get_mut(&s.partition) else {
            continue;
        };
        p.resolving = false;
        if p.epoch != s.epoch || p.reset != Some(s.spec) {
            // Seeked, or re-assigned, meanwhile: this answer is stale.
            continue;
        }
        let answer = response.as_ref().and_then(|r| {
            r.topics
                .iter()
                .filter(|t| *t.name == *s.partition.topic)
                .flat_map(|t| &t.partitions)
                .find(|a| a.partition_index == s.partition.partition)
        });
        let code = answer.map_or(ErrorCode::NETWORK_EXCEPTION, |a| {
            ErrorCode::from(a.error_code)
        });
        match answer {
            Some(a) if code == ErrorCode::NONE && a.offset >= 0 => {
                tracing::debug!(partition = %s.partition, offset = a.offset, spec = ?s.spec, "offset resolved");
                p.reset = None;
                p.epoch += 1;
                p.fetch_offset = Some(a.offset);
                p.position = Some(a.offset);
                p.offset_backoff.reset();
            }
            _ => {
                shared.metrics.offset_failed();
                let delay = p.offset_backoff.next_delay();
                p.retry_at = Some(now + delay);
                if RETRIABLE.contains(&code) || code == ErrorCode::NETWORK_EXCEPTION {
                    fetcher.metadata.report_error(code);
                    tracing::debug!(partition = %s.partition, %code, ?delay, "offset lookup failed; retrying");
                } else if code == ErrorCode::NONE {
                    tracing::debug!(partition = %s.partition, ?delay, "no offset in answer; retrying");
                } else {
                    tracing::warn!(partition = %s.partition, %code, ?delay, "offset lookup refused");
                    state.errors.push_back(ConsumeError::Broker {
                        partition: s.partition.clone(),
                        code,
                    });
                    woke_app = true;
                }
            }
        }
    }
    if woke_app {
        shared.data_ready.notify_one();
    }
}
