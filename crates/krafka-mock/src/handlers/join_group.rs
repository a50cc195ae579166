//! JoinGroup v0-9 over the state machine of [`crate::membership`]: a join is held until the
//! rebalance completes or its deadline passes, as on a Kafka broker (the connection serves
//! nothing else meanwhile).

use std::time::{Duration, Instant};

use krafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use krafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::{BrokerContext, is_coordinator};
use crate::membership::{JoinOutcome, JoinRequest};

fn join_error(error: ErrorCode, member_id: StrBytes, version: i16) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: error.0,
        generation_id: -1,
        protocol_name: if version >= 7 {
            None
        } else {
            Some(StrBytes::new())
        },
        member_id,
        ..Default::default()
    }
}

/// Answers a JoinGroup once the rebalance it joined completes.
pub async fn handle(
    ctx: &BrokerContext,
    version: i16,
    client_id: &str,
    request: &JoinGroupRequest,
) -> JoinGroupResponse {
    let group = request.group_id.as_str();
    if !is_coordinator(ctx, group) {
        return join_error(
            ErrorCode::NOT_COORDINATOR,
            request.member_id.clone(),
            version,
        );
    }
    if request.session_timeout_ms <= 0 {
        return join_error(
            ErrorCode::INVALID_SESSION_TIMEOUT,
            request.member_id.clone(),
            version,
        );
    }
    let session = Duration::from_millis(request.session_timeout_ms as u64);
    let rebalance = if request.rebalance_timeout_ms > 0 {
        Duration::from_millis(request.rebalance_timeout_ms as u64)
    } else {
        session
    };
    let join = JoinRequest {
        member_id: request.member_id.to_string(),
        instance_id: request.group_instance_id.as_ref().map(ToString::to_string),
        client_id: if client_id.is_empty() {
            "member".into()
        } else {
            client_id.to_string()
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        session_timeout: session,
        rebalance_timeout: rebalance,
        client_host: ctx
            .peer
            .map_or_else(String::new, |peer| format!("/{}", peer.ip())),
        requires_member_id: version >= 4,
    };
    let memberships = &ctx.state.memberships;
    let member_id = match memberships.with(group, |g| g.join(join, Instant::now())) {
        Ok(JoinOutcome::Joined(id)) => id,
        Ok(JoinOutcome::MemberIdRequired(id)) => {
            return join_error(
                ErrorCode::MEMBER_ID_REQUIRED,
                StrBytes::from_string(id),
                version,
            );
        }
        Err(error) => return join_error(error, request.member_id.clone(), version),
    };
    loop {
        let changed = memberships.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (result, deadline) = memberships.with(group, |g| {
            g.try_complete(Instant::now());
            (g.take_join_answer(&member_id), g.deadline())
        });
        if let Some(result) = result {
            return JoinGroupResponse {
                generation_id: result.generation,
                protocol_type: (version >= 7).then(|| StrBytes::from_string(result.protocol_type)),
                protocol_name: Some(StrBytes::from_string(result.protocol)),
                leader: StrBytes::from_string(result.leader),
                member_id: StrBytes::from_string(member_id),
                members: result
                    .members
                    .into_iter()
                    .map(|(id, instance, metadata)| JoinGroupResponseMember {
                        member_id: StrBytes::from_string(id),
                        group_instance_id: if version >= 5 {
                            instance.map(StrBytes::from_string)
                        } else {
                            None
                        },
                        metadata,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
        }
        if memberships.members(group).iter().all(|m| *m != member_id) {
            return join_error(
                ErrorCode::UNKNOWN_MEMBER_ID,
                StrBytes::from_string(member_id),
                version,
            );
        }
        // Wake on any membership change, at the deadline to complete without stragglers, and
        // every 100 ms to expire members whose session ran out (a crashed member must not hold
        // the rebalance for the whole rebalance timeout; Kafka expires them on a timer).
        let wait = deadline
            .map_or(Duration::from_millis(100), |d| {
                d.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_millis(100));
        let _ = tokio::time::timeout(wait.max(Duration::from_millis(1)), changed).await;
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::JOIN_GROUP, 0, 9);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::JoinGroupRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::JoinGroupResponse {
    let e = code.0;
    krafka_protocol::messages::JoinGroupResponse {
        error_code: e,
        generation_id: -1,
        protocol_name: Some(Default::default()),
        member_id: request.member_id.clone(),
        ..Default::default()
    }
}
