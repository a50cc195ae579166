//! What the member knows about its coordinator, and the pace of retries: a lost coordinator
//! (or a refused step) is tried again after a backoff from `retry_backoff` doubling to
//! `retry_backoff_max`, reset once it answers.

use std::time::Instant;

use krafka_net::Backoff;

use super::config::MemberConfig;

#[derive(Debug)]
pub(crate) struct Discovery {
    /// The coordinator's node, once found and dialled.
    node: Option<i32>,
    /// Not before this instant: the next step after a failure.
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// Picks the broker asked for the coordinator, a different one each time.
    seed: usize,
}

impl Discovery {
    pub(crate) fn new(config: &MemberConfig, seed: usize) -> Self {
        Self {
            node: None,
            retry_at: None,
            backoff: Backoff::new(config.retry_backoff, config.retry_backoff_max, seed as u64),
            seed,
        }
    }

    pub(crate) fn known(&self) -> bool {
        self.node.is_some()
    }

    pub(crate) fn found(&mut self, node: i32) {
        self.node = Some(node);
        self.retry_at = None;
        self.backoff.reset();
    }

    /// Forgets the coordinator (`true` if one was known) and waits a backoff.
    pub(crate) fn lost(&mut self, now: Instant) -> bool {
        self.pause(now);
        self.node.take().is_some()
    }

    /// Waits a backoff before the next step.
    pub(crate) fn pause(&mut self, now: Instant) {
        self.retry_at = Some(now + self.backoff.next_delay());
    }

    /// A step succeeded: the next failure starts the backoff from the beginning.
    pub(crate) fn succeeded(&mut self) {
        self.backoff.reset();
    }

    /// Whether a step may go at `now`.
    pub(crate) fn may_go(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }

    /// Ends a backoff that is over.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.retry_at.take_if(|at| now >= *at);
    }

    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// The seed for the next FindCoordinator.
    pub(crate) fn next_seed(&mut self) -> usize {
        let seed = self.seed;
        self.seed = self.seed.wrapping_add(1);
        seed
    }
}
