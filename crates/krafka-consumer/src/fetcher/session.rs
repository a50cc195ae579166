//! KIP-227 incremental fetch sessions, the client side: one [`FetchSession`] per broker
//! decides what each Fetch request carries and what the answer does to the session.
//!
//! A session lets the broker remember the partitions a consumer fetches, so that a request
//! names only what changed since the last one and an answer only partitions with news. At a
//! thousand partitions that shrinks the steady-state request from tens of kilobytes to a few
//! dozen bytes. The rules are Kafka's (`FetchSessionHandler` in the Java client):
//! - no session (id 0) or epoch 0: a full request listing every partition; epoch 0 asks the
//!   broker to open a session (closing the one named, if any). An answer with session id 0
//!   means the broker keeps none (its cache is full, or it has no sessions, like tansu): the
//!   next request is full again;
//! - an open session at epoch n > 0: an incremental request with the partitions that are new or
//!   whose fetch offset, leader epoch, byte limit or topic id changed, and the ones to forget.
//!   Partitions left out stay in the session, and those the answer leaves out had nothing new;
//! - after each answered request the epoch advances by one, wrapping from `i32::MAX` to 1;
//! - FETCH_SESSION_ID_NOT_FOUND: the broker lost the session; the next request is full with a
//!   new one. Any other top-level error (INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_
//!   ERROR, …) or a failed request (the broker may have advanced the epoch without our
//!   knowing): the next request is full at epoch 0 on the same id, which closes the old session
//!   and opens a new one;
//! - epoch -1 closes a session: sent on shutdown.
//!
//! One request per broker is in flight at a time (the fetcher's rule), which sessions need:
//! the epochs of a session must reach the broker in order.

use std::collections::HashMap;

use krafka_protocol::{ErrorCode, Uuid};

use crate::record::TopicPartition;

/// The epoch of a full request that opens a session.
pub(crate) const INITIAL_EPOCH: i32 = 0;
/// The epoch that closes a session, or asks for a sessionless full fetch.
pub(crate) const FINAL_EPOCH: i32 = -1;

/// The request fields the broker caches for a partition of a session: a partition is sent
/// again exactly when one of them changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CachedFetch {
    pub topic_id: Uuid,
    pub fetch_offset: i64,
    pub leader_epoch: i32,
    pub max_bytes: i32,
}

/// What the next request says about the session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SessionRequest {
    pub session_id: i32,
    pub epoch: i32,
    /// Indexes (into the wanted partitions) of the partitions the request lists.
    pub send: Vec<usize>,
    /// Partitions the broker drops from the session, with the topic id it knows them by.
    pub forget: Vec<(TopicPartition, Uuid)>,
}

impl SessionRequest {
    /// Whether the request lists every partition (no session, or opening one).
    pub(crate) fn is_full(&self) -> bool {
        self.session_id == 0 || self.epoch <= INITIAL_EPOCH
    }
}

/// What an answer meant for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionAnswer {
    /// The answer is good; its partitions are to be read.
    Accepted,
    /// The broker refused the request because of the session: nothing was fetched, and the
    /// next request is full. Worth sending at once.
    SessionError(ErrorCode),
    /// Some other top-level error: nothing was fetched.
    Refused(ErrorCode),
}

/// One broker's fetch session.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    /// 0 while there is none.
    id: i32,
    /// The epoch the next request carries.
    epoch: i32,
    /// What the broker holds, as of the last answered request.
    partitions: HashMap<TopicPartition, CachedFetch>,
    /// The partitions as the request in flight leaves them, adopted once it is answered.
    pending: HashMap<TopicPartition, CachedFetch>,
    /// Whether the request in flight was full.
    pending_full: bool,
}

/// The epoch after `epoch`: Kafka wraps to 1, since 0 means "open a session".
pub(crate) fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

impl FetchSession {
    /// The open session's id, if there is one.
    pub(crate) fn id(&self) -> Option<i32> {
        (self.id != 0).then_some(self.id)
    }

    /// Plans the next request for `wanted`: every partition to fetch from this broker now.
    /// Without `sessions` (Fetch before v7) it is a full, sessionless request. With
    /// `topic_ids` (v13+) a partition whose topic id changed is forgotten under the old id;
    /// by name (v12 and older) the forget would name the partition being sent and drop it.
    pub(crate) fn next_request(
        &mut self,
        wanted: &[(TopicPartition, CachedFetch)],
        sessions: bool,
        topic_ids: bool,
    ) -> SessionRequest {
        if !sessions {
            self.id = 0;
            self.epoch = INITIAL_EPOCH;
            self.partitions.clear();
            self.pending.clear();
            self.pending_full = true;
            return SessionRequest {
                session_id: 0,
                epoch: FINAL_EPOCH,
                send: (0..wanted.len()).collect(),
                forget: Vec::new(),
            };
        }
        self.pending = wanted.iter().cloned().collect();
        if self.id == 0 || self.epoch == INITIAL_EPOCH {
            self.pending_full = true;
            return SessionRequest {
                session_id: self.id,
                epoch: INITIAL_EPOCH,
                send: (0..wanted.len()).collect(),
                forget: Vec::new(),
            };
        }
        self.pending_full = false;
        let mut send = Vec::new();
        let mut forget = Vec::new();
        for (i, (tp, fetch)) in wanted.iter().enumerate() {
            match self.partitions.get(tp) {
                Some(cached) if cached == fetch => {}
                Some(cached) => {
                    let replaced = topic_ids
                        && cached.topic_id != fetch.topic_id
                        && cached.topic_id != Uuid::ZERO
                        && fetch.topic_id != Uuid::ZERO;
                    if replaced {
                        // The topic was recreated: the broker knows the old id, which must go.
                        forget.push((tp.clone(), cached.topic_id));
                    }
                    send.push(i);
                }
                None => send.push(i),
            }
        }
        for (tp, cached) in &self.partitions {
            if !self.pending.contains_key(tp) {
                forget.push((tp.clone(), cached.topic_id));
            }
        }
        SessionRequest {
            session_id: self.id,
            epoch: self.epoch,
            send,
            forget,
        }
    }

    /// Takes the answer to the request last planned: its top-level error and session id.
    pub(crate) fn on_answer(&mut self, error: ErrorCode, session_id: i32) -> SessionAnswer {
        let pending = std::mem::take(&mut self.pending);
        if error != ErrorCode::NONE {
            let session_error = matches!(
                error,
                ErrorCode::FETCH_SESSION_ID_NOT_FOUND
                    | ErrorCode::INVALID_FETCH_SESSION_EPOCH
                    | ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR
            );
            if error == ErrorCode::FETCH_SESSION_ID_NOT_FOUND {
                self.reset();
            } else {
                self.close_existing();
            }
            return if session_error {
                SessionAnswer::SessionError(error)
            } else {
                SessionAnswer::Refused(error)
            };
        }
        if session_id == 0 {
            // No session: the broker keeps none, or closed ours.
            self.reset();
        } else if self.pending_full || session_id != self.id {
            self.id = session_id;
            self.epoch = next_epoch(INITIAL_EPOCH);
            self.partitions = pending;
        } else {
            self.epoch = next_epoch(self.epoch);
            self.partitions = pending;
        }
        SessionAnswer::Accepted
    }

    /// The request failed without an answer: it may have reached the broker and moved the
    /// epoch on, so the next request closes the session and opens a new one.
    pub(crate) fn on_failure(&mut self) {
        self.pending.clear();
        self.close_existing();
    }

    /// Forgets the session entirely (the next request opens a new one).
    fn reset(&mut self) {
        self.id = 0;
        self.epoch = INITIAL_EPOCH;
        self.partitions.clear();
    }

    /// Keeps the id, so the next (full) request closes that session while opening a new one.
    fn close_existing(&mut self) {
        self.epoch = INITIAL_EPOCH;
        self.partitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn at(offset: i64) -> CachedFetch {
        CachedFetch {
            topic_id: Uuid::ZERO,
            fetch_offset: offset,
            leader_epoch: 0,
            max_bytes: 1024,
        }
    }

    fn open(session: &mut FetchSession, wanted: &[(TopicPartition, CachedFetch)], id: i32) {
        let first = session.next_request(wanted, true, true);
        assert!(first.is_full());
        assert_eq!(
            session.on_answer(ErrorCode::NONE, id),
            SessionAnswer::Accepted
        );
    }

    #[test]
    fn the_first_request_is_full_and_opens_a_session() {
        let mut s = FetchSession::default();
        let wanted = [(tp(0), at(5)), (tp(1), at(7))];
        let r = s.next_request(&wanted, true, true);
        assert_eq!(
            r,
            SessionRequest {
                session_id: 0,
                epoch: INITIAL_EPOCH,
                send: vec![0, 1],
                forget: vec![]
            }
        );
        assert_eq!(s.on_answer(ErrorCode::NONE, 42), SessionAnswer::Accepted);
        assert_eq!(s.id(), Some(42));
        let next = s.next_request(&wanted, true, true);
        assert_eq!((next.session_id, next.epoch), (42, 1));
        assert!(next.send.is_empty(), "nothing changed, nothing listed");
        assert!(next.forget.is_empty());
    }

    #[test]
    fn incremental_requests_list_changed_and_new_partitions_and_forget_dropped_ones() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5)), (tp(1), at(7)), (tp(2), at(9))], 3);
        // p0 moved on, p1 unchanged, p2 paused (not wanted), p3 new.
        let r = s.next_request(
            &[(tp(0), at(6)), (tp(1), at(7)), (tp(3), at(0))],
            true,
            true,
        );
        assert_eq!(r.epoch, 1);
        assert_eq!(r.send, vec![0, 2]);
        assert_eq!(r.forget, vec![(tp(2), Uuid::ZERO)]);
        assert_eq!(s.on_answer(ErrorCode::NONE, 3), SessionAnswer::Accepted);
        // The broker now holds p0@6, p1@7, p3@0.
        let r = s.next_request(
            &[(tp(0), at(6)), (tp(1), at(7)), (tp(3), at(0))],
            true,
            true,
        );
        assert_eq!((r.epoch, r.send.len(), r.forget.len()), (2, 0, 0));
    }

    #[test]
    fn a_byte_limit_or_leader_epoch_change_is_sent() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5)), (tp(1), at(5))], 3);
        let smaller = CachedFetch {
            max_bytes: 10,
            ..at(5)
        };
        let newer_leader = CachedFetch {
            leader_epoch: 4,
            ..at(5)
        };
        let r = s.next_request(&[(tp(0), smaller), (tp(1), newer_leader)], true, true);
        assert_eq!(r.send, vec![0, 1]);
    }

    #[test]
    fn a_recreated_topic_is_forgotten_under_its_old_id_and_sent_under_its_new_one() {
        let mut s = FetchSession::default();
        let old = CachedFetch {
            topic_id: Uuid::from_u128(1),
            ..at(5)
        };
        open(&mut s, &[(tp(0), old)], 3);
        let new = CachedFetch {
            topic_id: Uuid::from_u128(2),
            ..at(0)
        };
        let r = s.next_request(&[(tp(0), new)], true, true);
        assert_eq!(r.send, vec![0]);
        assert_eq!(r.forget, vec![(tp(0), Uuid::from_u128(1))]);
    }

    #[test]
    fn by_name_a_changed_topic_id_is_sent_but_not_forgotten() {
        // A v12 forget names the same partition as the send, and the broker applies forgets
        // last: it would drop the partition while we believe it is cached.
        let mut s = FetchSession::default();
        let old = CachedFetch {
            topic_id: Uuid::from_u128(1),
            ..at(5)
        };
        open(&mut s, &[(tp(0), old)], 3);
        let new = CachedFetch {
            topic_id: Uuid::from_u128(2),
            ..at(0)
        };
        let r = s.next_request(&[(tp(0), new)], true, false);
        assert_eq!(r.send, vec![0]);
        assert!(r.forget.is_empty());
        // Nor is an id appearing where there was none a replacement.
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(1), at(5))], 4);
        let r = s.next_request(&[(tp(1), new)], true, true);
        assert_eq!((r.send.clone(), r.forget.len()), (vec![0], 0));
    }

    #[test]
    fn an_unanswered_incremental_request_leaves_the_session_as_the_broker_had_it() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        let _ = s.next_request(&[(tp(0), at(6))], true, true);
        s.on_failure();
        // The broker may have taken epoch 1: close that session and open a new one.
        let r = s.next_request(&[(tp(0), at(6))], true, true);
        assert_eq!(
            (r.session_id, r.epoch, r.send.clone()),
            (3, INITIAL_EPOCH, vec![0])
        );
        assert!(r.is_full());
    }

    #[test]
    fn session_not_found_starts_a_new_session_with_a_full_fetch() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        let _ = s.next_request(&[(tp(0), at(6))], true, true);
        assert_eq!(
            s.on_answer(ErrorCode::FETCH_SESSION_ID_NOT_FOUND, 0),
            SessionAnswer::SessionError(ErrorCode::FETCH_SESSION_ID_NOT_FOUND)
        );
        assert_eq!(s.id(), None);
        let r = s.next_request(&[(tp(0), at(6))], true, true);
        assert_eq!((r.session_id, r.epoch, r.send), (0, INITIAL_EPOCH, vec![0]));
    }

    #[test]
    fn an_invalid_epoch_closes_the_session_and_opens_another() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        let _ = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!(
            s.on_answer(ErrorCode::INVALID_FETCH_SESSION_EPOCH, 0),
            SessionAnswer::SessionError(ErrorCode::INVALID_FETCH_SESSION_EPOCH)
        );
        let r = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!(
            (r.session_id, r.epoch, r.send.clone()),
            (3, INITIAL_EPOCH, vec![0])
        );
        assert_eq!(s.on_answer(ErrorCode::NONE, 8), SessionAnswer::Accepted);
        assert_eq!(s.id(), Some(8));
    }

    #[test]
    fn a_broker_without_sessions_gets_full_fetches() {
        let mut s = FetchSession::default();
        for _ in 0..3 {
            let r = s.next_request(&[(tp(0), at(5)), (tp(1), at(5))], true, true);
            assert_eq!(
                (r.session_id, r.epoch, r.send),
                (0, INITIAL_EPOCH, vec![0, 1])
            );
            assert_eq!(s.on_answer(ErrorCode::NONE, 0), SessionAnswer::Accepted);
        }
        let old = s.next_request(&[(tp(0), at(5))], false, false);
        assert_eq!((old.session_id, old.epoch), (0, FINAL_EPOCH));
    }

    #[test]
    fn a_session_the_broker_closed_is_reopened() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        let _ = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!(s.on_answer(ErrorCode::NONE, 0), SessionAnswer::Accepted);
        assert_eq!(s.id(), None);
        assert!(s.next_request(&[(tp(0), at(5))], true, true).is_full());
    }

    #[test]
    fn epochs_wrap_from_max_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(41), 42);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(FINAL_EPOCH), FINAL_EPOCH);
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        s.epoch = i32::MAX;
        let r = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!(r.epoch, i32::MAX);
        assert_eq!(s.on_answer(ErrorCode::NONE, 3), SessionAnswer::Accepted);
        let r = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!((r.epoch, r.is_full()), (1, false));
    }

    #[test]
    fn other_top_level_errors_refuse_and_close_the_session() {
        let mut s = FetchSession::default();
        open(&mut s, &[(tp(0), at(5))], 3);
        let _ = s.next_request(&[(tp(0), at(5))], true, true);
        assert_eq!(
            s.on_answer(ErrorCode::UNKNOWN_SERVER_ERROR, 0),
            SessionAnswer::Refused(ErrorCode::UNKNOWN_SERVER_ERROR)
        );
        assert!(s.next_request(&[(tp(0), at(5))], true, true).is_full());
    }
}
