//! KIP-227 incremental fetch sessions, the broker side: a cache of sessions per broker, each
//! remembering the partitions its client fetches and what it last told the client about them.
//!
//! The rules are Kafka's (`FetchManager`, `FetchSession`):
//! - epoch 0 is a full fetch that opens a new session (closing the one it names, if any); the
//!   answer carries the new session id, or 0 when the cache has no room (then the client keeps
//!   sending full fetches);
//! - epoch -1 closes the named session (if any) and is answered as a sessionless full fetch;
//! - any other epoch is an incremental fetch of the named session: an unknown id is
//!   FETCH_SESSION_ID_NOT_FOUND, an epoch other than the one expected next is
//!   INVALID_FETCH_SESSION_EPOCH; otherwise the partitions it lists are added or updated, its
//!   forgotten topics removed, and the answer holds only partitions with something new: records,
//!   a changed high watermark, last stable offset or log start offset, or an error;
//! - epochs advance by one and wrap from `i32::MAX` to 1.
//!
//! When the cache is full, the least recently used session is evicted (Kafka also weighs how
//! many partitions a session holds; one rule is enough to exercise a client's recovery).

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;

/// What a session remembers about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPartition {
    /// The offset the client fetches from.
    pub fetch_offset: i64,
    /// The client's per-partition byte limit.
    pub max_bytes: i32,
    /// The last high watermark, last stable offset and log start offset told to the client
    /// (`None` until the first answer).
    pub last_reported: Option<(i64, i64, i64)>,
}

/// A session's partitions, by topic name and partition index, in a stable order.
pub type SessionPartitions = BTreeMap<(String, i32), CachedPartition>;

#[derive(Debug)]
struct Session {
    broker: i32,
    next_epoch: i32,
    partitions: SessionPartitions,
    last_used: u64,
}

/// Why an incremental fetch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// FETCH_SESSION_ID_NOT_FOUND.
    NotFound,
    /// INVALID_FETCH_SESSION_EPOCH.
    InvalidEpoch,
}

/// The fetch sessions of every broker of a cluster.
#[derive(Debug)]
pub struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    slots_per_broker: usize,
    sessions: HashMap<i32, Session>,
    next_id: i32,
    clock: u64,
}

/// The epoch after `epoch`: wraps from `i32::MAX` to 1 (0 and -1 have meanings of their own).
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX { 1 } else { epoch + 1 }
}

impl SessionCache {
    /// A cache with room for `slots_per_broker` sessions on each broker (Kafka's
    /// `max.incremental.fetch.session.cache.slots`, 1000 by default).
    pub fn new(slots_per_broker: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                slots_per_broker,
                sessions: HashMap::new(),
                next_id: 1,
                clock: 0,
            }),
        }
    }

    /// Opens a session on `broker` for `partitions`, evicting the least recently used one if
    /// the broker's slots are full; `None` when it has no slots at all.
    pub fn open(&self, broker: i32, partitions: SessionPartitions) -> Option<i32> {
        let mut inner = self.inner.lock();
        if inner.slots_per_broker == 0 {
            return None;
        }
        let on_broker: Vec<(i32, u64)> = inner
            .sessions
            .iter()
            .filter(|(_, s)| s.broker == broker)
            .map(|(id, s)| (*id, s.last_used))
            .collect();
        let oldest = on_broker
            .iter()
            .min_by_key(|(_, used)| *used)
            .map(|(id, _)| *id);
        if let Some(oldest) = oldest.filter(|_| on_broker.len() >= inner.slots_per_broker) {
            inner.sessions.remove(&oldest);
        }
        let id = inner.next_id;
        inner.next_id = if inner.next_id == i32::MAX {
            1
        } else {
            inner.next_id + 1
        };
        inner.clock += 1;
        let last_used = inner.clock;
        inner.sessions.insert(
            id,
            Session {
                broker,
                next_epoch: 1,
                partitions,
                last_used,
            },
        );
        Some(id)
    }

    /// Closes a session; `false` if there was none.
    pub fn close(&self, broker: i32, id: i32) -> bool {
        let mut inner = self.inner.lock();
        match inner.sessions.get(&id) {
            Some(s) if s.broker == broker => inner.sessions.remove(&id).is_some(),
            _ => false,
        }
    }

    /// Takes a session for an incremental fetch at `epoch`: checks the epoch, advances it, and
    /// hands out its partitions to be updated and given back with [`SessionCache::put_back`].
    pub fn begin_incremental(
        &self,
        broker: i32,
        id: i32,
        epoch: i32,
    ) -> Result<SessionPartitions, SessionError> {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let now = inner.clock;
        let session = match inner.sessions.get_mut(&id) {
            Some(s) if s.broker == broker => s,
            _ => return Err(SessionError::NotFound),
        };
        if epoch != session.next_epoch {
            return Err(SessionError::InvalidEpoch);
        }
        session.next_epoch = next_epoch(epoch);
        session.last_used = now;
        Ok(std::mem::take(&mut session.partitions))
    }

    /// Gives a session its updated partitions back (a no-op if it was evicted meanwhile).
    pub fn put_back(&self, id: i32, partitions: SessionPartitions) {
        if let Some(session) = self.inner.lock().sessions.get_mut(&id) {
            session.partitions = partitions;
        }
    }

    /// The number of open sessions on `broker`.
    pub fn count(&self, broker: i32) -> usize {
        self.inner
            .lock()
            .sessions
            .values()
            .filter(|s| s.broker == broker)
            .count()
    }

    /// Evicts every session (a broker restart, or memory pressure, as clients must survive).
    pub fn evict_all(&self) -> usize {
        let mut inner = self.inner.lock();
        let count = inner.sessions.len();
        inner.sessions.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_advance_and_wrap_past_zero_and_minus_one() {
        assert_eq!(next_epoch(1), 2);
        assert_eq!(next_epoch(i32::MAX), 1);
    }

    #[test]
    fn sessions_check_their_epoch_and_belong_to_one_broker() {
        let cache = SessionCache::new(10);
        let id = cache.open(1, SessionPartitions::new()).unwrap();
        assert_eq!(
            cache.begin_incremental(2, id, 1),
            Err(SessionError::NotFound)
        );
        assert_eq!(
            cache.begin_incremental(1, id, 2),
            Err(SessionError::InvalidEpoch)
        );
        let parts = cache.begin_incremental(1, id, 1).unwrap();
        cache.put_back(id, parts);
        assert_eq!(
            cache.begin_incremental(1, id, 1),
            Err(SessionError::InvalidEpoch)
        );
        assert!(cache.begin_incremental(1, id, 2).is_ok());
        assert!(cache.close(1, id));
        assert_eq!(
            cache.begin_incremental(1, id, 3),
            Err(SessionError::NotFound)
        );
    }

    #[test]
    fn a_full_cache_evicts_the_least_recently_used_session() {
        let cache = SessionCache::new(2);
        let a = cache.open(1, SessionPartitions::new()).unwrap();
        let b = cache.open(1, SessionPartitions::new()).unwrap();
        // Use `a`, so `b` is the least recently used.
        let parts = cache.begin_incremental(1, a, 1).unwrap();
        cache.put_back(a, parts);
        let c = cache.open(1, SessionPartitions::new()).unwrap();
        assert_eq!(cache.count(1), 2);
        assert_eq!(
            cache.begin_incremental(1, b, 1),
            Err(SessionError::NotFound)
        );
        assert!(cache.begin_incremental(1, c, 1).is_ok());
        // Another broker's slots are its own.
        assert!(cache.open(2, SessionPartitions::new()).is_some());
        assert_eq!(cache.count(1), 2);
        assert!(
            SessionCache::new(0)
                .open(1, SessionPartitions::new())
                .is_none()
        );
    }
}
