//! The one request the member has in flight: what it is, the id its answer must carry, and
//! when it is given up. The coordinator answers a connection in order, so one at a time costs
//! nothing and keeps every answer's meaning plain.

use std::time::{Duration, Instant};

use super::config::MemberConfig;
use super::ops::Op;
use crate::record::TopicPartition;

/// What is in flight.
#[derive(Debug)]
pub(crate) enum Flight {
    FindCoordinator,
    Join,
    Metadata,
    Sync,
    Heartbeat,
    FetchOffsets(Vec<TopicPartition>),
    Op(Op),
    Leave,
}

impl Flight {
    /// Whether a close lets it finish (a rebalance under way completes so the close's commit
    /// is made in a generation the coordinator accepts; a commit completes).
    pub(crate) fn finishes_on_close(&self) -> bool {
        !matches!(self, Flight::Heartbeat | Flight::FetchOffsets(_))
    }

    fn timeout(&self, config: &MemberConfig) -> Duration {
        match self {
            Flight::Join | Flight::Sync => config.join_timeout(),
            // Finding includes dialling.
            Flight::FindCoordinator => config.request_timeout * 2,
            _ => config.request_timeout,
        }
    }
}

#[derive(Debug)]
pub(crate) struct InFlight {
    pub id: u64,
    pub flight: Flight,
    pub deadline: Instant,
}

/// The request in flight, if any, and the ids handed out.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    current: Option<InFlight>,
    last_id: u64,
}

impl Flights {
    /// Records `flight` as sent at `now`; returns its id.
    pub(crate) fn start(&mut self, now: Instant, flight: Flight, config: &MemberConfig) -> u64 {
        self.last_id += 1;
        self.current = Some(InFlight {
            id: self.last_id,
            deadline: now + flight.timeout(config),
            flight,
        });
        self.last_id
    }

    pub(crate) fn current(&self) -> Option<&InFlight> {
        self.current.as_ref()
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.current.is_some()
    }

    /// The request in flight, if its id is `id` (otherwise it was abandoned).
    pub(crate) fn answered(&mut self, id: u64) -> Option<InFlight> {
        self.current.take_if(|f| f.id == id)
    }

    /// Takes the request in flight (its answer, if it comes, is dropped).
    pub(crate) fn take(&mut self) -> Option<InFlight> {
        self.current.take()
    }

    /// Abandons the request in flight if `what` says so.
    pub(crate) fn abandon_if(&mut self, what: impl Fn(&Flight) -> bool) {
        self.current.take_if(|f| what(&f.flight));
    }
}
