//! Heartbeat v0-4.

use std::time::Instant;

use krafka_protocol::ErrorCode;
use krafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::context::{BrokerContext, is_coordinator};

/// Answers a Heartbeat.
pub fn handle(ctx: &BrokerContext, request: &HeartbeatRequest) -> HeartbeatResponse {
    let group = request.group_id.as_str();
    let error = if !is_coordinator(ctx, group) {
        ErrorCode::NOT_COORDINATOR
    } else {
        match ctx.state.memberships.with(group, |g| {
            g.heartbeat(&request.member_id, request.generation_id, Instant::now())
        }) {
            Ok(()) => ErrorCode::NONE,
            Err(e) => e,
        }
    };
    HeartbeatResponse {
        error_code: error.0,
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::HEARTBEAT, 0, 4);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::HeartbeatRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::HeartbeatResponse {
    let e = code.0;
    krafka_protocol::messages::HeartbeatResponse {
        error_code: e,
        ..Default::default()
    }
}
