//! FindCoordinator, v0-6: the broker coordinating a group (key type 0) or transactional id
//! (key type 1); from v4 several keys at once.

use krafka_protocol::messages::find_coordinator_response::Coordinator;
use krafka_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
use krafka_protocol::{ErrorCode, StrBytes};

use super::context::BrokerContext;

/// Answers a FindCoordinator request.
pub fn handle(
    ctx: &BrokerContext,
    version: i16,
    request: &FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let locate = |key: &str| -> Result<(i32, String, i32), ErrorCode> {
        let brokers = ctx.state.brokers.read();
        let up: Vec<i32> = brokers.iter().filter(|b| b.up).map(|b| b.node_id).collect();
        let node = ctx
            .state
            .groups
            .coordinator(key, &up)
            .ok_or(ErrorCode::COORDINATOR_NOT_AVAILABLE)?;
        let broker = brokers
            .iter()
            .find(|b| b.node_id == node && b.up)
            .ok_or(ErrorCode::COORDINATOR_NOT_AVAILABLE)?;
        Ok((node, broker.host.clone(), i32::from(broker.port)))
    };
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .iter()
            .map(|key| match locate(key) {
                Ok((node_id, host, port)) => Coordinator {
                    key: key.clone(),
                    node_id,
                    host: StrBytes::from_string(host),
                    port,
                    ..Default::default()
                },
                Err(error) => Coordinator {
                    key: key.clone(),
                    node_id: -1,
                    port: -1,
                    error_code: error.0,
                    ..Default::default()
                },
            })
            .collect();
        return FindCoordinatorResponse {
            coordinators,
            ..Default::default()
        };
    }
    match locate(&request.key) {
        Ok((node_id, host, port)) => FindCoordinatorResponse {
            node_id,
            host: StrBytes::from_string(host),
            port,
            ..Default::default()
        },
        Err(error) => FindCoordinatorResponse {
            error_code: error.0,
            node_id: -1,
            port: -1,
            ..Default::default()
        },
    }
}

/// The versions this handler serves, as ApiVersions advertises them.
pub(super) const API: (krafka_protocol::ApiKey, i16, i16) =
    (krafka_protocol::ApiKey::FIND_COORDINATOR, 0, 6);

/// The answer when a fault hook refuses `request` with `code`: a real answer's shape, with the
/// error wherever this API carries one.
pub(super) fn error_response(
    request: &krafka_protocol::messages::FindCoordinatorRequest,
    code: krafka_protocol::ErrorCode,
) -> krafka_protocol::messages::FindCoordinatorResponse {
    let e = code.0;
    krafka_protocol::messages::FindCoordinatorResponse {
        error_code: e,
        node_id: -1,
        port: -1,
        coordinators: request
            .coordinator_keys
            .iter()
            .map(
                |key| krafka_protocol::messages::find_coordinator_response::Coordinator {
                    key: key.clone(),
                    node_id: -1,
                    port: -1,
                    error_code: e,
                    ..Default::default()
                },
            )
            .collect(),
        ..Default::default()
    }
}
