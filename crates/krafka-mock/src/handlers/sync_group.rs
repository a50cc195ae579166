//! SyncGroup v0-5: a follower's sync is held until the leader's assignment arrives, as on a
//! Kafka broker.

use std::time::{Duration, Instant};

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::context::{BrokerContext, is_coordinator};

/// Answers a SyncGroup once the leader's assignments are in.
pub async fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &SyncGroupRequest,
) -> SyncGroupResponse {
    let group = request.group_id.as_str();
    let respond = |error: ErrorCode, assignment| SyncGroupResponse {
        error_code: error.0,
        protocol_type: if version >= 5 {
            request.protocol_type.clone()
        } else {
            None
        },
        protocol_name: if version >= 5 {
            request.protocol_name.clone()
        } else {
            None
        },
        assignment,
        ..Default::default()
    };
    if !is_coordinator(ctx, group) {
        return respond(ErrorCode::NOT_COORDINATOR, Default::default());
    }
    let memberships = &ctx.state.memberships;
    let assignments: Vec<(String, bytes::Bytes)> = request
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let mut first = Some(assignments);
    let give_up = Instant::now() + Duration::from_secs(300);
    loop {
        let changed = memberships.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let now = Instant::now();
        let outcome = memberships.with(group, |g| {
            g.sync(
                &request.member_id,
                request.generation_id,
                first.take().unwrap_or_default(),
                now,
            )
        });
        match outcome {
            Ok(Some(assignment)) => return respond(ErrorCode::NONE, assignment),
            Err(error) => return respond(error, Default::default()),
            Ok(None) if now >= give_up => {
                return respond(ErrorCode::REBALANCE_IN_PROGRESS, Default::default());
            }
            Ok(None) => {
                let _ = tokio::time::timeout(Duration::from_millis(100), changed).await;
            }
        }
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::SYNC_GROUP, 0, 5);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::SyncGroupRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::SyncGroupResponse {
    let e = code.0;
    krafka_protocol::messages::SyncGroupResponse {
        error_code: e,
        ..Default::default()
    }
}
