//! Fault injection: per-API hooks that decide, request by request, whether a broker answers
//! normally, with an error, late, never, or by dropping the connection.
//!
//! A hook is a function of the request ([`RequestInfo`]) returning a [`Control`]. It fires a
//! limited number of times ([`Times`]); a call that returns [`Control::Pass`] does not use one
//! up, so a hook can pick out the one request it means (a produce to partition 3, say).

use std::sync::Arc;
use std::time::Duration;

use krafka_protocol::messages::{RequestBody, ResponseBody};
use krafka_protocol::{ApiKey, ErrorCode};
use parking_lot::Mutex;

/// What a broker does with a request a hook matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Handle it normally.
    Pass,
    /// Do not apply it; answer with this error code wherever the response has one.
    Error(ErrorCode),
    /// Wait, then handle it normally (the connection is busy meanwhile, as on a slow broker).
    Delay(Duration),
    /// Close the connection without applying or answering.
    Disconnect,
    /// Never answer; the connection stays open (and, like Kafka, serves nothing after it).
    NoAnswer,
    /// Apply the request, then close the connection: the client cannot know the outcome.
    ApplyThenDisconnect,
    /// Apply the request, then answer with this error code instead of the real answer.
    ApplyThenError(ErrorCode),
}

/// How many times a hook fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// Once.
    Once,
    /// This many times.
    N(u32),
    /// Until removed.
    Always,
}

/// What a hook sees of a request.
#[derive(Debug)]
pub struct RequestInfo<'a> {
    /// The broker that received it.
    pub broker: i32,
    /// Its API.
    pub api_key: ApiKey,
    /// Its version.
    pub version: i16,
    /// The decoded request.
    pub body: &'a RequestBody,
}

type HookFn = dyn Fn(&RequestInfo<'_>) -> Control + Send + Sync;

struct Hook {
    id: u64,
    api_key: ApiKey,
    remaining: Option<u32>,
    decide: Arc<HookFn>,
}

/// The hooks of one cluster.
#[derive(Default)]
pub struct Hooks {
    inner: Mutex<(u64, Vec<Hook>)>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("count", &self.inner.lock().1.len())
            .finish()
    }
}

/// Identifies an installed hook, for [`crate::MockCluster::remove_hook`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookId(u64);

impl Hooks {
    /// Installs a hook.
    pub fn add<F>(&self, api_key: ApiKey, times: Times, decide: F) -> HookId
    where
        F: Fn(&RequestInfo<'_>) -> Control + Send + Sync + 'static,
    {
        let mut inner = self.inner.lock();
        inner.0 += 1;
        let id = inner.0;
        let remaining = match times {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        };
        inner.1.push(Hook {
            id,
            api_key,
            remaining,
            decide: Arc::new(decide),
        });
        HookId(id)
    }

    /// Removes a hook; `false` if it was already gone.
    pub fn remove(&self, id: HookId) -> bool {
        let mut inner = self.inner.lock();
        let before = inner.1.len();
        inner.1.retain(|h| h.id != id.0);
        inner.1.len() != before
    }

    /// The first hook for the request's API that does not pass, using up one of its firings.
    pub fn decide(&self, info: &RequestInfo<'_>) -> Control {
        // Decide outside the lock: a hook is user code and may take its time.
        let candidates: Vec<(u64, Arc<HookFn>)> = self
            .inner
            .lock()
            .1
            .iter()
            .filter(|h| h.api_key == info.api_key)
            .map(|h| (h.id, h.decide.clone()))
            .collect();
        for (id, decide) in candidates {
            let control = decide(info);
            if control == Control::Pass {
                continue;
            }
            let mut inner = self.inner.lock();
            let Some(index) = inner.1.iter().position(|h| h.id == id) else {
                continue;
            };
            let used_up = match inner.1.get_mut(index).and_then(|h| h.remaining.as_mut()) {
                Some(left) => {
                    *left = left.saturating_sub(1);
                    *left == 0
                }
                None => false,
            };
            if used_up {
                inner.1.remove(index);
            }
            return control;
        }
        Control::Pass
    }
}

/// Sets a response's `throttle_time_ms` (dropped by versions without it, where it is ignorable).
pub fn set_throttle(response: &mut ResponseBody, ms: i32) {
    match response {
        ResponseBody::ApiVersions(r) => r.throttle_time_ms = ms,
        ResponseBody::Metadata(r) => r.throttle_time_ms = ms,
        ResponseBody::CreateTopics(r) => r.throttle_time_ms = ms,
        ResponseBody::InitProducerId(r) => r.throttle_time_ms = ms,
        ResponseBody::Produce(r) => r.throttle_time_ms = ms,
        ResponseBody::Fetch(r) => r.throttle_time_ms = ms,
        ResponseBody::ListOffsets(r) => r.throttle_time_ms = ms,
        ResponseBody::FindCoordinator(r) => r.throttle_time_ms = ms,
        ResponseBody::OffsetCommit(r) => r.throttle_time_ms = ms,
        ResponseBody::OffsetFetch(r) => r.throttle_time_ms = ms,
        ResponseBody::DeleteTopics(r) => r.throttle_time_ms = ms,
        ResponseBody::CreatePartitions(r) => r.throttle_time_ms = ms,
        ResponseBody::DescribeConfigs(r) => r.throttle_time_ms = ms,
        ResponseBody::JoinGroup(r) => r.throttle_time_ms = ms,
        ResponseBody::SyncGroup(r) => r.throttle_time_ms = ms,
        ResponseBody::Heartbeat(r) => r.throttle_time_ms = ms,
        ResponseBody::LeaveGroup(r) => r.throttle_time_ms = ms,
        _ => {}
    }
}
