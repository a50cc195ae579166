//! The idempotent producer's identity: its producer id and epoch from InitProducerId, the
//! sequence arithmetic Kafka uses, and the KIP-360 epoch bump that resets sequences when a
//! batch's fate can no longer be settled under the current epoch.
//!
//! A bump waits until nothing is in flight and no batch that may have been written is still
//! unsettled: such a batch is retried under its old epoch (the broker deduplicates it) or
//! failed as "may have been written". Only batches known not to be in the log are restamped
//! under the new epoch, so a bump never duplicates a record.

use std::time::Instant;

use krafka_net::{Backoff, ClusterMetadata, NetError};
use krafka_protocol::ErrorCode;
use krafka_protocol::messages::InitProducerIdRequest;

/// Where the producer id stands.
#[derive(Debug)]
pub(crate) struct Identity {
    /// The current id and epoch; `None` until InitProducerId answers (and during a bump).
    pub(crate) current: Option<(i64, i16)>,
    /// The id and epoch to bump from (KIP-360), while a bump is wanted.
    pub(crate) bump_from: Option<(i64, i16)>,
    /// A bump is wanted: set when a sequenced batch fails or the broker lost our state.
    pub(crate) bump_needed: bool,
    /// An InitProducerId request is out.
    pub(crate) request_in_flight: bool,
    pub(crate) retry_at: Option<Instant>,
    pub(crate) backoff: Backoff,
}

impl Identity {
    pub(crate) fn new(backoff: Backoff) -> Self {
        Self {
            current: None,
            bump_from: None,
            bump_needed: false,
            request_in_flight: false,
            retry_at: None,
            backoff,
        }
    }
}

/// What InitProducerId can fail with.
#[derive(Debug, Clone)]
pub(crate) enum InitError {
    /// Worth retrying (no broker, coordinator loading, …).
    Retriable(String),
    /// Not: authorization, fencing.
    Fatal(ErrorCode, String),
}

/// Asks any broker for a producer id, or (with `current`) for the next epoch of ours.
pub(crate) async fn init_producer_id(
    metadata: &ClusterMetadata,
    current: Option<(i64, i16)>,
) -> Result<(i64, i16), InitError> {
    let snapshot = metadata.snapshot();
    let mut ids: Vec<i32> = snapshot.brokers.keys().copied().collect();
    ids.sort_unstable();
    let Some(&broker) = ids.first() else {
        metadata.request_refresh();
        return Err(InitError::Retriable("no broker known yet".into()));
    };
    let retriable = |e: NetError| InitError::Retriable(e.to_string());
    let conn = metadata
        .pool()
        .get_connection_by_id(broker)
        .await
        .map_err(retriable)?;
    let version = conn
        .version_in(krafka_protocol::ApiKey::INIT_PRODUCER_ID, 0..=i16::MAX)
        .map_err(|_| {
            InitError::Fatal(
                ErrorCode::UNSUPPORTED_VERSION,
                "broker lacks InitProducerId".into(),
            )
        })?;
    // Before v3 (KIP-360) a bump is a fresh producer id, which is as safe here: nothing
    // unsettled remains under the old one.
    let (producer_id, producer_epoch) = match current {
        Some(c) if version >= 3 => c,
        _ => (-1, -1),
    };
    let request = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: i32::MAX,
        producer_id,
        producer_epoch,
        ..Default::default()
    };
    let response = conn.send(&request, version).await.map_err(retriable)?;
    let code = ErrorCode(response.error_code);
    if code == ErrorCode::NONE {
        return Ok((response.producer_id, response.producer_epoch));
    }
    if code.is_retriable()
        || matches!(
            code,
            ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::NOT_COORDINATOR
                | ErrorCode::CONCURRENT_TRANSACTIONS
        )
    {
        return Err(InitError::Retriable(code.to_string()));
    }
    Err(InitError::Fatal(
        code,
        format!("InitProducerId failed: {code}"),
    ))
}
