//! Fetch, v4-17: whole record batches from each partition's log, by topic name (up to v12) or
//! topic id (v13+), honouring `max_bytes`, `partition_max_bytes`, `min_bytes` and `max_wait`
//! (a long poll woken when any partition grows). Not yet: fetch sessions (KIP-227), which come
//! in a later step of this crate; until then every response carries session id 0, which tells
//! a client to keep sending full fetches.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use krafka_protocol::messages::FetchRequest;
use krafka_protocol::messages::FetchResponse;
use krafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};

use super::BrokerContext;

/// Answers a Fetch request, waiting up to `max_wait_ms` for `min_bytes` to arrive.
pub async fn handle(ctx: &BrokerContext, version: i16, request: &FetchRequest) -> FetchResponse {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    loop {
        // Register for wake-ups before reading, so data appended in between is not missed.
        let arrived = ctx.state.data_arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let (response, bytes, errors) = collect(ctx, version, request);
        let satisfied = bytes >= request.min_bytes.max(0) as usize || errors;
        if satisfied || tokio::time::Instant::now() >= deadline {
            return response;
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            return collect(ctx, version, request).0;
        }
    }
}

/// One pass over the requested partitions: the response, its record bytes, and whether any
/// partition had an error (which answers at once, as Kafka does).
fn collect(
    ctx: &BrokerContext,
    version: i16,
    request: &FetchRequest,
) -> (FetchResponse, usize, bool) {
    let state = &ctx.state;
    let mut budget = if request.max_bytes > 0 {
        request.max_bytes as usize
    } else {
        usize::MAX
    };
    let mut total = 0;
    let mut errors = false;
    let responses = request
        .topics
        .iter()
        .map(|t| {
            let (name, topic) = if version >= 13 {
                match state.topic_by_id(t.topic_id) {
                    Some((name, topic)) => (StrBytes::from_string(name), Some(topic)),
                    None => (StrBytes::new(), None),
                }
            } else {
                (t.topic.clone(), state.topic(&t.topic))
            };
            let unknown = if version >= 13 {
                ErrorCode::UNKNOWN_TOPIC_ID
            } else {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let mut data = PartitionData {
                        partition_index: p.partition,
                        high_watermark: -1,
                        last_stable_offset: -1,
                        log_start_offset: -1,
                        records: Some(Bytes::new()),
                        ..Default::default()
                    };
                    let partition = topic
                        .as_ref()
                        .and_then(|t| t.partitions.get(p.partition as usize));
                    let result = match partition {
                        None => Err(unknown),
                        Some(part) if part.leader() != ctx.node_id => {
                            Err(ErrorCode::NOT_LEADER_OR_FOLLOWER)
                        }
                        Some(part) => {
                            let log = part.log.lock();
                            data.high_watermark = log.high_watermark();
                            data.last_stable_offset = log.high_watermark();
                            data.log_start_offset = log.log_start_offset();
                            let limit = (p.partition_max_bytes.max(0) as usize).min(budget);
                            log.read(p.fetch_offset, limit)
                        }
                    };
                    match result {
                        Ok(batches) => {
                            let records = join(batches);
                            budget = budget.saturating_sub(records.len());
                            total += records.len();
                            data.records = Some(records);
                        }
                        Err(error) => {
                            errors = true;
                            data.error_code = error.0;
                        }
                    }
                    data
                })
                .collect();
            FetchableTopicResponse {
                topic: if version >= 13 { StrBytes::new() } else { name },
                topic_id: if version >= 13 {
                    t.topic_id
                } else {
                    Uuid::ZERO
                },
                partitions,
                ..Default::default()
            }
        })
        .collect();
    (
        FetchResponse {
            responses,
            ..Default::default()
        },
        total,
        errors,
    )
}

/// One batch is served as the stored slice; several are joined (one copy), since a response
/// carries each partition's records as one buffer.
fn join(batches: Vec<Bytes>) -> Bytes {
    match batches.len() {
        0 => Bytes::new(),
        1 => batches.into_iter().next().unwrap_or_default(),
        _ => {
            let mut out = BytesMut::with_capacity(batches.iter().map(Bytes::len).sum());
            for b in &batches {
                out.extend_from_slice(b);
            }
            out.freeze()
        }
    }
}
