//! LeaveGroup v0-5 (v3+ for several members at once).

use std::time::Instant;

use krafka_protocol::messages::leave_group_response::MemberResponse;
use krafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::{BrokerContext, is_coordinator};

/// Answers a LeaveGroup (one member up to v2, several from v3).
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &LeaveGroupRequest,
) -> LeaveGroupResponse {
    let group = request.group_id.as_str();
    if !is_coordinator(ctx, group) {
        return LeaveGroupResponse {
            error_code: ErrorCode::NOT_COORDINATOR.0,
            ..Default::default()
        };
    }
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(ToString::to_string),
                )
            })
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    let results: Vec<(String, Option<String>, ErrorCode)> = leaving
        .into_iter()
        .map(|(id, instance)| {
            let outcome = ctx
                .state
                .memberships
                .with(group, |g| g.leave(&id, instance.as_deref(), Instant::now()));
            (id, instance, outcome.err().unwrap_or(ErrorCode::NONE))
        })
        .collect();
    if version < 3 {
        let error = results.first().map_or(ErrorCode::NONE, |r| r.2);
        return LeaveGroupResponse {
            error_code: error.0,
            ..Default::default()
        };
    }
    LeaveGroupResponse {
        members: results
            .into_iter()
            .map(|(id, instance, error)| MemberResponse {
                member_id: StrBytes::from_string(id),
                group_instance_id: instance.map(StrBytes::from_string),
                error_code: error.0,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::LEAVE_GROUP, 0, 5);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::LeaveGroupRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::LeaveGroupResponse {
    let e = code.0;
    krafka_protocol::messages::LeaveGroupResponse {
        error_code: e,
        ..Default::default()
    }
}
