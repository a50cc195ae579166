//! JoinGroup v0-9, SyncGroup v0-5, Heartbeat v0-4 and LeaveGroup v0-5 over the state machine of
//! [`crate::membership`]. A JoinGroup or a follower's SyncGroup is held until the rebalance
//! completes (or, for a join, its deadline passes), as on a Kafka broker: the connection serves
//! nothing else meanwhile.

use std::time::{Duration, Instant};

use krafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use krafka_protocol::messages::leave_group_response::MemberResponse;
use krafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
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
pub async fn join(
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

/// Answers a SyncGroup once the leader's assignments are in.
pub async fn sync(
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

/// Answers a Heartbeat.
pub fn heartbeat(ctx: &BrokerContext, request: &HeartbeatRequest) -> HeartbeatResponse {
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

/// Answers a LeaveGroup (one member up to v2, several from v3).
pub fn leave(ctx: &BrokerContext, version: i16, request: &LeaveGroupRequest) -> LeaveGroupResponse {
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

/// Kafka's name for a phase, as ListGroups reports it.
fn state_name(phase: crate::membership::Phase) -> &'static str {
    use crate::membership::Phase;
    match phase {
        Phase::Empty => "Empty",
        Phase::PreparingRebalance => "PreparingRebalance",
        Phase::CompletingRebalance => "CompletingRebalance",
        Phase::Stable => "Stable",
    }
}

/// Answers a ListGroups (v0-5): the groups this broker coordinates, with members or with
/// committed offsets (a group with offsets only is Empty, as in Kafka).
pub fn list_groups(
    ctx: &BrokerContext,
    version: i16,
    request: &krafka_protocol::messages::ListGroupsRequest,
) -> krafka_protocol::messages::ListGroupsResponse {
    use krafka_protocol::messages::ListGroupsResponse;
    use krafka_protocol::messages::list_groups_response::ListedGroup;
    let mut groups: std::collections::BTreeMap<String, (&'static str, String)> = ctx
        .state
        .groups
        .names()
        .into_iter()
        .map(|g| (g, ("Empty", "consumer".to_owned())))
        .collect();
    for (name, phase, protocol_type) in ctx.state.memberships.states() {
        groups.insert(
            name,
            (
                state_name(phase),
                protocol_type.unwrap_or_else(|| "consumer".into()),
            ),
        );
    }
    let listed = groups
        .into_iter()
        .filter(|(name, _)| is_coordinator(ctx, name))
        .filter(|(_, (state, _))| {
            request.states_filter.is_empty()
                || version < 4
                || request.states_filter.iter().any(|f| f.as_str() == *state)
        })
        .map(|(name, (state, protocol_type))| ListedGroup {
            group_id: StrBytes::from_string(name),
            protocol_type: StrBytes::from_string(protocol_type),
            group_state: if version >= 4 {
                StrBytes::from(state)
            } else {
                StrBytes::new()
            },
            group_type: if version >= 5 {
                StrBytes::from_static_str("classic")
            } else {
                StrBytes::new()
            },
            ..Default::default()
        })
        .collect();
    ListGroupsResponse {
        groups: listed,
        ..Default::default()
    }
}

/// Answers a DescribeGroups (v0-5): each group's state, protocol and members. A group this
/// broker does not coordinate is NOT_COORDINATOR; one it knows nothing of is `Dead`, and one
/// with committed offsets but no members is `Empty`, as on Kafka before v6.
pub fn describe_groups(
    ctx: &BrokerContext,
    version: i16,
    request: &krafka_protocol::messages::DescribeGroupsRequest,
) -> krafka_protocol::messages::DescribeGroupsResponse {
    use krafka_protocol::messages::DescribeGroupsResponse;
    use krafka_protocol::messages::describe_groups_response::{
        DescribedGroup, DescribedGroupMember,
    };
    let known_offsets = ctx.state.groups.names();
    let groups = request
        .groups
        .iter()
        .map(|name| {
            let mut described = DescribedGroup {
                group_id: name.clone(),
                authorized_operations: i32::MIN,
                ..Default::default()
            };
            if !is_coordinator(ctx, name.as_str()) {
                described.error_code = ErrorCode::NOT_COORDINATOR.0;
                return described;
            }
            match ctx.state.memberships.describe(name.as_str()) {
                Some(summary) if !summary.members.is_empty() => {
                    described.group_state = StrBytes::from_static_str(state_name(summary.phase));
                    described.protocol_type =
                        StrBytes::from_string(summary.protocol_type.unwrap_or_default());
                    described.protocol_data =
                        StrBytes::from_string(summary.protocol.unwrap_or_default());
                    described.members = summary
                        .members
                        .into_iter()
                        .map(|m| DescribedGroupMember {
                            member_id: StrBytes::from_string(m.member_id),
                            group_instance_id: if version >= 4 {
                                m.instance_id.map(StrBytes::from_string)
                            } else {
                                None
                            },
                            client_id: StrBytes::from_string(m.client_id),
                            client_host: StrBytes::from_string(m.client_host),
                            member_metadata: m.metadata,
                            member_assignment: m.assignment,
                            ..Default::default()
                        })
                        .collect();
                }
                summary => {
                    let known =
                        summary.is_some() || known_offsets.iter().any(|g| g == name.as_str());
                    described.group_state =
                        StrBytes::from_static_str(if known { "Empty" } else { "Dead" });
                    if known {
                        // A group whose members all left keeps its protocol type; one that
                        // only ever committed offsets is a consumer group's.
                        let kind = summary.and_then(|s| s.protocol_type);
                        described.protocol_type =
                            StrBytes::from_string(kind.unwrap_or_else(|| "consumer".to_owned()));
                    }
                }
            }
            described
        })
        .collect();
    DescribeGroupsResponse {
        groups,
        ..Default::default()
    }
}
