//! ListGroups v0-5.

use krafka_protocol::StrBytes;

use super::context::{BrokerContext, is_coordinator};

/// Answers a ListGroups (v0-5): the groups this broker coordinates, with members or with
/// committed offsets (a group with offsets only is Empty, as in Kafka).
pub fn handle(
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
                phase.name(),
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

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::LIST_GROUPS, 0, 5);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    _request: &krafka_protocol::messages::ListGroupsRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::ListGroupsResponse {
    let e = code.0;
    krafka_protocol::messages::ListGroupsResponse {
        error_code: e,
        ..Default::default()
    }
}
