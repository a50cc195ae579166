//! What a handler is given: where it runs ([`BrokerContext`]), who coordinates a group, and
//! Kafka's text for a per-item error.

use std::sync::Arc;

use krafka_protocol::{ErrorCode, StrBytes};

use crate::state::ClusterState;

/// What a handler needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct BrokerContext {
    /// The shared cluster state.
    pub state: Arc<ClusterState>,
    /// This broker's node id.
    pub node_id: i32,
    /// The client's address, on a connection's own copy (what DescribeGroups reports as a
    /// member's host).
    pub peer: Option<std::net::SocketAddr>,
    /// The listener's TLS and SASL.
    pub(crate) security: crate::security::ListenerSecurity,
}

/// Whether broker `ctx` coordinates `group` (see [`crate::groups`]).
pub fn is_coordinator(ctx: &BrokerContext, group: &str) -> bool {
    let up: Vec<i32> = ctx
        .state
        .brokers
        .read()
        .iter()
        .filter(|b| b.up)
        .map(|b| b.node_id)
        .collect();
    ctx.state.groups.coordinator(group, &up) == Some(ctx.node_id)
}

/// The `error_message` of a per-item result: Kafka's text for an error, none for success.
pub fn error_message(error: ErrorCode) -> Option<StrBytes> {
    error
        .is_error()
        .then(|| StrBytes::from_static_str(error.message()))
}
