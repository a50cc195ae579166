//! The producer's buffer memory: `buffer_memory` bytes that open and unacknowledged batches
//! hold, so that a producer whose brokers fall behind pushes back on its callers instead of
//! growing without bound.
//!
//! A batch reserves its capacity (`batch_size`, or more for a larger record) when it is opened
//! and returns it when its outcome is known. Waiters queue fairly on a semaphore and are woken
//! by the release, never by a timer; the time they spent waiting is counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The byte budget of one producer.
#[derive(Debug)]
pub(crate) struct BufferMemory {
    permits: Arc<Semaphore>,
    total: usize,
    blocked_nanos: AtomicU64,
    blocked_calls: AtomicU64,
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReserveError {
    /// The deadline passed first.
    TimedOut(Duration),
    /// The memory was closed (the producer shut down).
    Closed,
}

impl BufferMemory {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(total)),
            total,
            blocked_nanos: AtomicU64::new(0),
            blocked_calls: AtomicU64::new(0),
        }
    }

    /// Takes `bytes` if they are free now.
    pub(crate) fn try_reserve(&self, bytes: usize) -> bool {
        let Ok(n) = u32::try_from(bytes) else {
            return false;
        };
        match self.permits.try_acquire_many(n) {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        }
    }

    /// Takes `bytes`, waiting until `deadline` for other batches to release them. Cancel-safe:
    /// a dropped wait holds nothing.
    pub(crate) async fn reserve(
        &self,
        bytes: usize,
        deadline: Instant,
    ) -> Result<(), ReserveError> {
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let n = u32::try_from(bytes).map_err(|_| ReserveError::Closed)?;
        let started = Instant::now();
        let outcome = tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            self.permits.acquire_many(n),
        )
        .await;
        let waited = started.elapsed();
        self.blocked_calls.fetch_add(1, Relaxed);
        self.blocked_nanos.fetch_add(
            u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX),
            Relaxed,
        );
        match outcome {
            Ok(Ok(permit)) => {
                permit.forget();
                Ok(())
            }
            Ok(Err(_)) => Err(ReserveError::Closed),
            Err(_) => Err(ReserveError::TimedOut(waited)),
        }
    }

    /// Returns `bytes` taken by a reservation, waking waiters in order.
    pub(crate) fn release(&self, bytes: usize) {
        self.permits.add_permits(bytes);
    }

    /// Wakes every waiter with [`ReserveError::Closed`].
    pub(crate) fn close(&self) {
        self.permits.close();
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Total time callers spent waiting for memory, and how many waited.
    pub(crate) fn blocked(&self) -> (Duration, u64) {
        (
            Duration::from_nanos(self.blocked_nanos.load(Relaxed)),
            self.blocked_calls.load(Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_is_woken_by_a_release_not_a_timer() {
        let memory = Arc::new(BufferMemory::new(100));
        assert!(memory.try_reserve(80));
        assert!(!memory.try_reserve(30));
        let m = memory.clone();
        let waiter = tokio::spawn(async move {
            m.reserve(30, Instant::now() + Duration::from_secs(30))
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        let released = Instant::now();
        memory.release(80);
        waiter.await.unwrap().unwrap();
        assert!(released.elapsed() < Duration::from_secs(1));
        assert_eq!(memory.available(), 70);
        assert_eq!(memory.blocked().1, 1);
    }

    #[tokio::test]
    async fn a_waiter_times_out_and_holds_nothing() {
        let memory = BufferMemory::new(10);
        assert!(memory.try_reserve(10));
        let err = memory
            .reserve(5, Instant::now() + Duration::from_millis(30))
            .await
            .unwrap_err();
        assert!(matches!(err, ReserveError::TimedOut(d) if d >= Duration::from_millis(25)));
        memory.release(10);
        assert_eq!(memory.available(), 10);
    }
}
