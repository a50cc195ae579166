//! Fetch requests: one per leader broker carrying all its fetchable partitions, and what each
//! partition's answer does to its state.
//!
//! The response's record bytes are never copied: each partition's whole batches become one
//! [`CompletedFetch`] holding a slice of the response frame. Only batch headers are read here
//! (to find where the next fetch starts); checksums, decompression and record parsing happen
//! when the application drains the fetch, off this loop.
//!
//! Fetch versions 4 (isolation level, last stable offset) to 17 are used. From v7 requests go
//! through the broker's KIP-227 fetch session ([`super::session`]): after the first, a request
//! lists only partitions that changed. From v13 topics are named by id, when metadata gave
//! every topic of the request one (else the request stays at v12, by name).

use std::collections::HashMap;
use std::time::Instant;

use krafka_net::{ConnectionPool, NetError};
use krafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use krafka_protocol::messages::{FetchRequest, FetchResponse};
use krafka_protocol::records::{DecodeOptions, RecordSet};
use krafka_protocol::{ApiKey, Encode, ErrorCode, Uuid};

use super::core::{Event, Fetcher, Sent, by_topic, sent_key};
use super::session::{CachedFetch, FINAL_EPOCH, SessionAnswer, SessionRequest};
use crate::ConsumerConfig;
use crate::config::OffsetReset;
use crate::error::ConsumeError;
use crate::record::TopicPartition;
use crate::state::{CompletedFetch, OffsetSpec};

/// The oldest Fetch this consumer speaks: v4 added the isolation level and aborted
/// transactions.
const MIN_FETCH_VERSION: i16 = 4;
/// The first with fetch sessions (KIP-227).
const SESSION_VERSION: i16 = 7;
/// The last that names topics; v13 replaced names with topic ids.
const LAST_NAMED_VERSION: i16 = 12;
/// The newest.
const MAX_FETCH_VERSION: i16 = 17;

pub(super) fn spawn_fetch(fetcher: &mut Fetcher, broker: i32, sent: Vec<Sent>, budget_left: usize) {
    let pool = fetcher.metadata.pool().clone();
    let config = fetcher.config.clone();
    let events = fetcher.events_tx.clone();
    let shared = std::sync::Arc::clone(&fetcher.shared);
    // The session goes with its request: one fetch per broker is out at a time.
    let mut session = std::mem::take(&mut fetcher.broker(broker).session);
    tokio::spawn(async move {
        let started = Instant::now();
        let result = async {
            let conn = pool.get_connection_by_id(broker).await?;
            let mut version =
                conn.version_in(ApiKey::FETCH, MIN_FETCH_VERSION..=MAX_FETCH_VERSION)?;
            if sent.iter().any(|s| s.topic_id == Uuid::ZERO) {
                version = version.min(LAST_NAMED_VERSION);
            }
            let wanted: Vec<(TopicPartition, CachedFetch)> = sent
                .iter()
                .map(|s| {
                    let fetch = CachedFetch {
                        topic_id: s.topic_id,
                        fetch_offset: s.offset,
                        leader_epoch: s.leader_epoch,
                        max_bytes: s.max_bytes,
                    };
                    (s.partition.clone(), fetch)
                })
                .collect();
            let plan = session.next_request(
                &wanted,
                version >= SESSION_VERSION,
                version > LAST_NAMED_VERSION,
            );
            let max_bytes = i32::try_from(budget_left)
                .unwrap_or(i32::MAX)
                .clamp(1, config.fetch_max_bytes);
            let request = request(&config, &sent, &plan, max_bytes);
            let size = request.encoded_size(version)?;
            shared.metrics.fetch_sent(plan.is_full(), size as u64);
            conn.send(&request, version).await
        }
        .await;
        let _ = events.send(Event::Fetched {
            broker,
            sent,
            started,
            result,
            session,
        });
    });
}

fn request(
    config: &ConsumerConfig,
    sent: &[Sent],
    plan: &SessionRequest,
    max_bytes: i32,
) -> FetchRequest {
    let topics = by_topic(
        plan.send.iter().filter_map(|&i| sent.get(i)),
        sent_key,
        |s| FetchPartition {
            partition: s.partition.partition,
            current_leader_epoch: s.leader_epoch,
            fetch_offset: s.offset,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            partition_max_bytes: s.max_bytes,
            ..Default::default()
        },
    )
    .into_iter()
    .map(|t| FetchTopic {
        topic: t.name,
        topic_id: t.id,
        partitions: t.entries,
        ..Default::default()
    })
    .collect();
    let forgotten_topics_data =
        by_topic(&plan.forget, |(tp, id)| (tp, *id), |(tp, _)| tp.partition)
            .into_iter()
            .map(|t| ForgottenTopic {
                topic: t.name,
                topic_id: t.id,
                partitions: t.entries,
                ..Default::default()
            })
            .collect();
    FetchRequest {
        replica_id: -1,
        max_wait_ms: i32::try_from(config.fetch_max_wait.as_millis()).unwrap_or(i32::MAX),
        min_bytes: config.fetch_min_bytes,
        max_bytes,
        isolation_level: config.isolation_level.wire_value(),
        session_id: plan.session_id,
        session_epoch: plan.epoch,
        topics,
        forgotten_topics_data,
        ..Default::default()
    }
}

/// Closes fetch session `session_id` on `broker` (epoch -1, no partitions, no wait).
pub(super) async fn close_session(
    pool: ConnectionPool,
    config: std::sync::Arc<ConsumerConfig>,
    broker: i32,
    session_id: i32,
) {
    let result = async {
        let conn = pool.get_connection_by_id(broker).await?;
        // A broker without sessions has none to close.
        let Ok(version) = conn.version_in(ApiKey::FETCH, SESSION_VERSION..=LAST_NAMED_VERSION)
        else {
            return Ok(());
        };
        let request = FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: config.fetch_max_bytes,
            isolation_level: config.isolation_level.wire_value(),
            session_id,
            session_epoch: FINAL_EPOCH,
            ..Default::default()
        };
        conn.send(&request, version).await.map(|_| ())
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(broker, session_id, "fetch session closed"),
        Err(error) => tracing::debug!(broker, session_id, %error, "could not close fetch session"),
    }
}

pub(super) fn handle_fetch(
    fetcher: &mut Fetcher,
    broker: i32,
    sent: Vec<Sent>,
    started: Instant,
    result: Result<FetchResponse, NetError>,
) {
    let now = Instant::now();
    let shared = std::sync::Arc::clone(&fetcher.shared);
    let b = fetcher.broker(broker);
    let response = match result {
        Ok(response) => match b
            .session
            .on_answer(response.error_code.into(), response.session_id)
        {
            SessionAnswer::Accepted => {
                b.backoff.reset();
                response
            }
            SessionAnswer::SessionError(code) => {
                // Nothing was fetched; the next request is a full one, sent at once.
                tracing::debug!(broker, %code, "fetch session lost; starting a new one");
                shared.metrics.session_error();
                release(&shared, &sent);
                return;
            }
            SessionAnswer::Refused(code) => {
                tracing::debug!(broker, %code, "fetch refused");
                request_failed(fetcher, broker, &sent, now);
                return;
            }
        },
        Err(error) => {
            tracing::debug!(broker, %error, "fetch failed");
            b.session.on_failure();
            request_failed(fetcher, broker, &sent, now);
            return;
        }
    };
    // From v13 the answer names topics by id only.
    let names: HashMap<Uuid, std::sync::Arc<str>> = sent
        .iter()
        .filter(|s| s.topic_id != Uuid::ZERO)
        .map(|s| (s.topic_id, s.partition.topic.clone()))
        .collect();
    let mut answers: HashMap<
        (&str, i32),
        &krafka_protocol::messages::fetch_response::PartitionData,
    > = HashMap::new();
    let mut bytes = 0u64;
    for topic in &response.responses {
        let name = match names.get(&topic.topic_id) {
            Some(name) if topic.topic.is_empty() => &**name,
            _ => &*topic.topic,
        };
        for partition in &topic.partitions {
            bytes += partition.records.as_ref().map_or(0, |r| r.len() as u64);
            answers.insert((name, partition.partition_index), partition);
        }
    }
    shared.metrics.fetch_answered(now - started, bytes);
    let scan = DecodeOptions {
        verify_crc: false,
        ..DecodeOptions::default()
    };
    let mut woke_app = false;
    let mut state = shared.state.lock();
    let state = &mut *state;
    for s in sent {
        let Some(p) = state.partitions.get_mut(&s.partition) else {
            continue;
        };
        p.in_flight = false;
        if p.epoch != s.epoch {
            continue;
        }
        let Some(&answer) = answers.get(&(&*s.partition.topic, s.partition.partition)) else {
            continue;
        };
        let code = ErrorCode::from(answer.error_code);
        if code == ErrorCode::NONE {
            p.high_watermark = answer.high_watermark;
            p.last_stable_offset = answer.last_stable_offset;
            p.log_start_offset = answer.log_start_offset;
            let Some(records) = answer.records.clone().filter(|r| !r.is_empty()) else {
                continue;
            };
            let mut set = RecordSet::with_options(records.clone(), scan.clone());
            let mut next_offset = None;
            for batch in set.by_ref() {
                match batch {
                    Ok(batch) => next_offset = Some(batch.next_offset()),
                    Err(error) => {
                        // Stop here; the application sees the corruption when it reaches it.
                        tracing::warn!(partition = %s.partition, %error, "malformed batch in fetch");
                        break;
                    }
                }
            }
            let whole = records.len() - set.remaining();
            let (records, next_offset) = match next_offset {
                Some(next) => (records.slice(..whole), next.max(s.offset)),
                None => {
                    // No whole batch: a malformed start (or a batch larger than any fetch
                    // allows). The application reports the corruption at its position; the
                    // partition waits before it is fetched again.
                    p.retry_at = Some(now + fetcher.config.retry_backoff_max);
                    (records, s.offset)
                }
            };
            p.fetch_offset = Some(next_offset);
            p.buffered += records.len();
            state.buffered += records.len();
            state.ready.push_back(CompletedFetch {
                partition: s.partition,
                epoch: s.epoch,
                next_offset,
                records,
                aborted: answer.aborted_transactions.clone().unwrap_or_default(),
            });
            woke_app = true;
            continue;
        }
        shared.metrics.fetch_failed();
        if code == ErrorCode::OFFSET_OUT_OF_RANGE {
            match fetcher.config.auto_offset_reset {
                OffsetReset::Earliest | OffsetReset::Latest => {
                    tracing::info!(partition = %s.partition, offset = s.offset, "offset out of range; resetting");
                    p.reset = Some(
                        if fetcher.config.auto_offset_reset == OffsetReset::Earliest {
                            OffsetSpec::Earliest
                        } else {
                            OffsetSpec::Latest
                        },
                    );
                    p.fetch_offset = None;
                }
                OffsetReset::None => {
                    p.fetch_offset = None;
                    state.errors.push_back(ConsumeError::OffsetOutOfRange {
                        partition: s.partition.clone(),
                        offset: s.offset,
                    });
                    woke_app = true;
                }
            }
        } else if krafka_net::is_stale_metadata(code) {
            tracing::debug!(partition = %s.partition, %code, "fetch: stale leader; refreshing");
            fetcher.metadata.request_refresh();
            p.retry_at = Some(now + fetcher.config.retry_backoff);
        } else {
            tracing::warn!(partition = %s.partition, %code, "fetch refused");
            p.retry_at = Some(now + fetcher.config.retry_backoff_max);
            state.errors.push_back(ConsumeError::Broker {
                partition: s.partition.clone(),
                code,
            });
            woke_app = true;
        }
    }
    if woke_app {
        shared.data_ready.notify_one();
    }
}

/// The whole request failed: every partition goes back, and the broker waits out a backoff
/// (its leadership may also have moved, so metadata is refreshed).
fn request_failed(fetcher: &mut Fetcher, broker: i32, sent: &[Sent], now: Instant) {
    fetcher.shared.metrics.fetch_failed();
    let b = fetcher.broker(broker);
    b.retry_at = Some(now + b.backoff.next_delay());
    fetcher.metadata.request_refresh();
    release(&fetcher.shared, sent);
}

/// Makes a request's partitions fetchable again.
fn release(shared: &crate::state::Shared, sent: &[Sent]) {
    let mut state = shared.state.lock();
    for s in sent {
        if let Some(p) = state.partitions.get_mut(&s.partition) {
            p.in_flight = false;
        }
    }
}
