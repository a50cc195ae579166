//! The request the member sends for each [`Flight`]: built from its state and identity at
//! the moment it goes out.

use std::collections::BTreeSet;

use super::flight::Flight;
use super::messages::Request;
use super::ops::Op;
use super::{GroupMember, State, leader, rebalance};
use crate::record::TopicPartition;

impl GroupMember {
    pub(super) fn request_for(&mut self, flight: &Flight) -> Request {
        let identity = self.identity.clone();
        match flight {
            Flight::FindCoordinator => Request::FindCoordinator {
                seed: self.coordinator.next_seed(),
            },
            Flight::Join => {
                let owned: Vec<TopicPartition> = if self.config.cooperative() {
                    self.holdings.owned_list()
                } else {
                    Vec::new()
                };
                let protocols = rebalance::join_protocols(
                    &self.config.assignors,
                    &self.subscription,
                    &owned,
                    identity.generation,
                );
                tracing::debug!(group = %identity.group, member = %identity.member_id, "joining");
                Request::Join {
                    identity,
                    protocols,
                    session_timeout: self.config.session_timeout,
                    rebalance_timeout: self.config.max_poll_interval,
                }
            }
            Flight::Metadata => Request::Metadata {
                topics: match &self.state {
                    State::Assigning(joined) => leader::subscribed_topics(&joined.members),
                    _ => BTreeSet::new(),
                },
            },
            Flight::Sync => {
                let (protocol, assignments) = match &self.state {
                    State::Syncing {
                        protocol,
                        assignments,
                    } => (protocol.protocol_name(), assignments.clone()),
                    _ => ("", Vec::new()),
                };
                Request::Sync {
                    identity,
                    protocol,
                    assignments,
                }
            }
            Flight::Heartbeat => Request::Heartbeat { identity },
            Flight::FetchOffsets(partitions) | Flight::Op(Op::Lookup { partitions, .. }) => {
                Request::FetchOffsets {
                    identity,
                    partitions: partitions.clone(),
                    require_stable: self.config.read_committed,
                }
            }
            Flight::Op(Op::Commit { offsets, .. }) => Request::Commit {
                identity,
                offsets: offsets.clone(),
            },
            // Built by `leave`, which knows the reason and the identity that leaves.
            Flight::Leave => Request::Leave {
                identity,
                reason: "leaving",
            },
        }
    }
}
