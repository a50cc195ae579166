//! The requests a connection has sent and not yet seen answered: correlation ids, order and
//! deadlines, free of I/O so that tests drive it with a made-up clock.
//!
//! Kafka brokers answer a connection's requests in the order they were sent, so a response
//! must carry the correlation id of the oldest outstanding request; any other id is a protocol
//! error that closes the connection. A request past its deadline also ends the connection: its
//! answer could still arrive later and would then be matched to the wrong request. Requests
//! that expect no answer (a Produce with acks=0) are never tracked.
//!
//! The call order for a connection task: [`InFlight::has_room`] before writing,
//! [`InFlight::register`] for each request written, [`InFlight::complete`] for each response
//! read, [`InFlight::next_deadline`] to arm its timer and [`InFlight::timed_out`] when it
//! fires, and [`InFlight::drain`] when the connection ends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use krafka_protocol::ApiKey;

/// The longest wait any deadline is given: a huge configured timeout (`Duration::MAX`) must
/// not overflow `Instant`.
const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// `at + after`, with `after` capped at a year so that the sum cannot overflow.
pub fn deadline_after(at: Instant, after: Duration) -> Instant {
    at.checked_add(after.min(MAX_WAIT)).unwrap_or(at)
}

/// One outstanding request.
#[derive(Debug)]
pub struct Pending<W> {
    /// Its correlation id.
    pub correlation_id: i32,
    /// Its API.
    pub api_key: ApiKey,
    /// Its version (the response is decoded with it).
    pub version: i16,
    /// When it was sent.
    pub sent_at: Instant,
    /// When it times out.
    pub deadline: Instant,
    /// Whoever waits for the answer.
    pub waiter: W,
}

/// A response that does not match the oldest outstanding request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnexpectedCorrelation {
    /// The id the response carried.
    pub got: i32,
    /// The id of the oldest outstanding request, if any.
    pub expected: Option<i32>,
}

/// The outstanding requests of one connection, oldest first.
#[derive(Debug)]
pub struct InFlight<W> {
    queue: VecDeque<Pending<W>>,
    max: usize,
    next_id: i32,
}

impl<W> InFlight<W> {
    /// Tracking for a connection allowing `max` requests in flight.
    pub fn new(max: usize) -> Self {
        Self {
            queue: VecDeque::with_capacity(max),
            max,
            next_id: 0,
        }
    }

    /// Whether another request may be sent now.
    pub fn has_room(&self) -> bool {
        self.queue.len() < self.max
    }

    /// How many requests are outstanding.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The correlation id the next request gets (wrapping from `i32::MAX` to 0), for a request
    /// that expects no answer and so is not registered.
    pub fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = if id == i32::MAX { 0 } else { id + 1 };
        id
    }

    /// Records a request just written; returns its correlation id.
    pub fn register(
        &mut self,
        api_key: ApiKey,
        version: i16,
        now: Instant,
        timeout: Duration,
        waiter: W,
    ) -> i32 {
        let correlation_id = self.next_correlation_id();
        self.queue.push_back(Pending {
            correlation_id,
            api_key,
            version,
            sent_at: now,
            deadline: deadline_after(now, timeout),
            waiter,
        });
        correlation_id
    }

    /// Matches a response to the oldest outstanding request.
    pub fn complete(&mut self, correlation_id: i32) -> Result<Pending<W>, UnexpectedCorrelation> {
        match self.queue.front() {
            Some(front) if front.correlation_id == correlation_id => {
                self.queue.pop_front().ok_or(UnexpectedCorrelation {
                    got: correlation_id,
                    expected: None,
                })
            }
            front => Err(UnexpectedCorrelation {
                got: correlation_id,
                expected: front.map(|p| p.correlation_id),
            }),
        }
    }

    /// The oldest outstanding request.
    pub fn oldest(&self) -> Option<&Pending<W>> {
        self.queue.front()
    }

    /// The earliest deadline of any outstanding request.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.iter().map(|p| p.deadline).min()
    }

    /// Whether any outstanding request is past its deadline at `now` (the connection must then
    /// be closed and every request failed).
    pub fn timed_out(&self, now: Instant) -> bool {
        self.next_deadline().is_some_and(|d| now >= d)
    }

    /// Takes every outstanding request, oldest first, to be failed.
    pub fn drain(&mut self) -> Vec<Pending<W>> {
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn responses_match_in_order_and_room_is_bounded() {
        let now = Instant::now();
        let mut f = InFlight::new(2);
        let a = f.register(ApiKey::FETCH, 12, now, T, "a");
        let b = f.register(ApiKey::PRODUCE, 9, now, T, "b");
        assert!(!f.has_room());
        assert_eq!(
            f.complete(b).unwrap_err(),
            UnexpectedCorrelation {
                got: b,
                expected: Some(a)
            }
        );
        assert_eq!(f.complete(a).unwrap().waiter, "a");
        assert!(f.has_room());
        assert_eq!(f.complete(b).unwrap().version, 9);
        assert_eq!(f.complete(99).unwrap_err().expected, None);
    }

    #[test]
    fn deadlines_with_a_made_up_clock() {
        let t0 = Instant::now();
        let mut f = InFlight::new(5);
        f.register(ApiKey::METADATA, 12, t0, Duration::from_secs(5), ());
        f.register(
            ApiKey::FETCH,
            12,
            t0 + Duration::from_secs(1),
            Duration::from_secs(2),
            (),
        );
        assert_eq!(f.next_deadline(), Some(t0 + Duration::from_secs(3)));
        assert!(!f.timed_out(t0 + Duration::from_secs(2)));
        assert!(f.timed_out(t0 + Duration::from_secs(3)));
        assert_eq!(f.drain().len(), 2);
        assert!(f.is_empty() && f.next_deadline().is_none());
    }

    #[test]
    fn a_huge_timeout_does_not_overflow() {
        let now = Instant::now();
        let mut f = InFlight::new(1);
        f.register(ApiKey::FETCH, 12, now, Duration::MAX, ());
        let deadline = f.next_deadline().unwrap();
        assert!(deadline > now + Duration::from_secs(364 * 24 * 3600));
        assert!(!f.timed_out(now + Duration::from_secs(3600)));
    }

    #[test]
    fn correlation_ids_wrap() {
        let mut f: InFlight<()> = InFlight::new(1);
        f.next_id = i32::MAX;
        assert_eq!(f.next_correlation_id(), i32::MAX);
        assert_eq!(f.next_correlation_id(), 0);
    }
}
