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
