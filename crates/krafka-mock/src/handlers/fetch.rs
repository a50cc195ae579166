//! Fetch, v4-17: whole record batches from each partition's log, by topic name (up to v12) or
//! topic id (v13+), honouring `max_bytes`, `partition_max_bytes`, `min_bytes` and `max_wait`
//! (a long poll woken when any partition grows), with KIP-227 fetch sessions from v7 (see
//! [`crate::sessions`] for the rules).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use krafka_protocol::messages::FetchRequest;
use krafka_protocol::messages::FetchResponse;
use krafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use krafka_protocol::{ErrorCode, StrBytes, Uuid};

use super::context::BrokerContext;
use crate::sessions::{CachedPartition, SessionError, SessionPartitions};

/// How this request relates to a fetch session.
enum Mode {
    /// No session: answer every partition of the request.
    Sessionless,
    /// A full fetch that opens a session once answered.
    Opening,
    /// An incremental fetch of this session: answer only what changed.
    Incremental(i32),
}

/// The partitions to answer, and the unknown topic ids to report.
struct Plan {
    mode: Mode,
    partitions: SessionPartitions,
    unknown_ids: Vec<(Uuid, i32)>,
}

/// Answers a Fetch request, waiting up to `max_wait_ms` for `min_bytes` to arrive.
pub async fn handle(ctx: &BrokerContext, version: i16, request: &FetchRequest) -> FetchResponse {
    let mut plan = match plan(ctx, version, request) {
        Ok(plan) => plan,
        Err(error) => {
            return FetchResponse {
                error_code: error.0,
                session_id: 0,
                ..Default::default()
            };
        }
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let answer = loop {
        // Register for wake-ups before reading, so data appended in between is not missed.
        let arrived = ctx.state.data_arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        let answer = collect(ctx, version, request, &plan);
        let satisfied = answer.bytes >= request.min_bytes.max(0) as usize || answer.errors;
        if satisfied || tokio::time::Instant::now() >= deadline {
            break answer;
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            break collect(ctx, version, request, &plan);
        }
    };
    // What the client has now been told becomes the session's baseline.
    for (key, reported) in &answer.reported {
        if let Some(cached) = plan.partitions.get_mut(key) {
            cached.last_reported = Some(*reported);
        }
    }
    let mut response = answer.response;
    response.session_id = match plan.mode {
        Mode::Sessionless => 0,
        Mode::Opening => ctx
            .state
            .fetch_sessions
            .open(ctx.node_id, plan.partitions)
            .unwrap_or(0),
        Mode::Incremental(id) => {
            ctx.state.fetch_sessions.put_back(id, plan.partitions);
            id
        }
    };
    response
}

/// Works out the session mode and the partitions to answer (KIP-227's rules).
fn plan(ctx: &BrokerContext, version: i16, request: &FetchRequest) -> Result<Plan, ErrorCode> {
    let sessions = &ctx.state.fetch_sessions;
    let (mode, mut partitions) = if version < 7 || request.session_epoch == -1 {
        if version >= 7 && request.session_id != 0 {
            sessions.close(ctx.node_id, request.session_id);
        }
        (Mode::Sessionless, SessionPartitions::new())
    } else if request.session_epoch == 0 {
        if request.session_id != 0 {
            sessions.close(ctx.node_id, request.session_id);
        }
        (Mode::Opening, SessionPartitions::new())
    } else {
        let cached = sessions
            .begin_incremental(ctx.node_id, request.session_id, request.session_epoch)
            .map_err(|e| match e {
                SessionError::NotFound => ErrorCode::FETCH_SESSION_ID_NOT_FOUND,
                SessionError::InvalidEpoch => ErrorCode::INVALID_FETCH_SESSION_EPOCH,
            })?;
        (Mode::Incremental(request.session_id), cached)
    };
    let mut unknown_ids = Vec::new();
    for topic in &request.topics {
        let name = if version >= 13 {
            match ctx.state.topic_by_id(topic.topic_id) {
                Some((name, _)) => name,
                None => {
                    unknown_ids.extend(
                        topic
                            .partitions
                            .iter()
                            .map(|p| (topic.topic_id, p.partition)),
                    );
                    continue;
                }
            }
        } else {
            topic.topic.to_string()
        };
        for p in &topic.partitions {
            let entry = partitions
                .entry((name.clone(), p.partition))
                .or_insert(CachedPartition {
                    fetch_offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes,
                    last_reported: None,
                });
            entry.fetch_offset = p.fetch_offset;
            entry.max_bytes = p.partition_max_bytes;
        }
    }
    for forgotten in &request.forgotten_topics_data {
        let name = if version >= 13 {
            ctx.state
                .topic_by_id(forgotten.topic_id)
                .map(|(name, _)| name)
        } else {
            Some(forgotten.topic.to_string())
        };
        if let Some(name) = name {
            for partition in &forgotten.partitions {
                partitions.remove(&(name.clone(), *partition));
            }
        }
    }
    Ok(Plan {
        mode,
        partitions,
        unknown_ids,
    })
}

/// A partition of a session, by topic name and index.
type PartitionKey = (String, i32);

/// What a client was told of a partition: high watermark, last stable offset, log start.
type Reported = (i64, i64, i64);

/// One pass over the planned partitions.
struct Answer {
    response: FetchResponse,
    bytes: usize,
    errors: bool,
    reported: Vec<(PartitionKey, Reported)>,
}

fn collect(ctx: &BrokerContext, version: i16, request: &FetchRequest, plan: &Plan) -> Answer {
    let state = &ctx.state;
    let incremental = matches!(plan.mode, Mode::Incremental(_));
    let mut budget = if request.max_bytes > 0 {
        request.max_bytes as usize
    } else {
        usize::MAX
    };
    let (mut bytes, mut errors) = (0, false);
    let mut reported = Vec::new();
    let mut topics: BTreeMap<String, (Uuid, Vec<PartitionData>)> = BTreeMap::new();
    for ((name, index), cached) in &plan.partitions {
        let topic = state.topic(name);
        let mut data = PartitionData {
            partition_index: *index,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: Some(Bytes::new()),
            ..Default::default()
        };
        let partition = topic
            .as_ref()
            .and_then(|t| t.partitions.get(*index as usize));
        let result = match partition {
            None => Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
            Some(part) if part.leader() != ctx.node_id => Err(ErrorCode::NOT_LEADER_OR_FOLLOWER),
            Some(part) => {
                let log = part.log.lock();
                data.high_watermark = log.high_watermark();
                data.last_stable_offset = log.high_watermark();
                data.log_start_offset = log.log_start_offset();
                let limit = (cached.max_bytes.max(0) as usize).min(budget);
                log.read(cached.fetch_offset, limit)
            }
        };
        match result {
            Ok(batches) => {
                let records = join(batches);
                budget = budget.saturating_sub(records.len());
                bytes += records.len();
                data.records = Some(records);
            }
            Err(error) => {
                errors = true;
                data.error_code = error.0;
            }
        }
        let offsets = (
            data.high_watermark,
            data.last_stable_offset,
            data.log_start_offset,
        );
        let changed = data.error_code != 0
            || data.records.as_ref().is_some_and(|r| !r.is_empty())
            || cached.last_reported != Some(offsets);
        if incremental && !changed {
            continue;
        }
        reported.push(((name.clone(), *index), offsets));
        let id = topic.as_ref().map_or(Uuid::ZERO, |t| t.id);
        topics
            .entry(name.clone())
            .or_insert_with(|| (id, Vec::new()))
            .1
            .push(data);
    }
    let mut responses: Vec<FetchableTopicResponse> = topics
        .into_iter()
        .map(|(name, (id, partitions))| FetchableTopicResponse {
            topic: if version >= 13 {
                StrBytes::new()
            } else {
                StrBytes::from_string(name)
            },
            topic_id: if version >= 13 { id } else { Uuid::ZERO },
            partitions,
            ..Default::default()
        })
        .collect();
    for (id, index) in &plan.unknown_ids {
        errors = true;
        responses.push(FetchableTopicResponse {
            topic_id: *id,
            partitions: vec![PartitionData {
                partition_index: *index,
                error_code: ErrorCode::UNKNOWN_TOPIC_ID.0,
                high_watermark: -1,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    Answer {
        response: FetchResponse {
            responses,
            ..Default::default()
        },
        bytes,
        errors,
        reported,
    }
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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) = (krafka_protocol::ApiKey::FETCH, 4, 17);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::FetchRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::FetchResponse {
    let e = code.0;
    krafka_protocol::messages::FetchResponse {
        error_code: e,
        responses: request
            .topics
            .iter()
            .map(
                |t| krafka_protocol::messages::fetch_response::FetchableTopicResponse {
                    topic: t.topic.clone(),
                    topic_id: t.topic_id,
                    partitions: t
                        .partitions
                        .iter()
                        .map(
                            |p| krafka_protocol::messages::fetch_response::PartitionData {
                                partition_index: p.partition,
                                error_code: e,
                                high_watermark: -1,
                                ..Default::default()
                            },
                        )
                        .collect(),
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
