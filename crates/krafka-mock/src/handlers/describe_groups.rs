//! DescribeGroups v0-5.

use krafka_protocol::{ErrorCode, StrBytes};

use super::context::{BrokerContext, is_coordinator};

/// Answers a DescribeGroups (v0-5): each group's state, protocol and members. A group this
/// broker does not coordinate is NOT_COORDINATOR; one it knows nothing of is `Dead`, and one
/// with committed offsets but no members is `Empty`, as on Kafka before v6.
pub fn handle(
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
                    described.group_state = StrBytes::from_static_str(summary.phase.name());
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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::DESCRIBE_GROUPS, 0, 5);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::DescribeGroupsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::DescribeGroupsResponse {
    let e = code.0;
    krafka_protocol::messages::DescribeGroupsResponse {
        groups: request
            .groups
            .iter()
            .map(
                |g| krafka_protocol::messages::describe_groups_response::DescribedGroup {
                    error_code: e,
                    group_id: g.clone(),
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
