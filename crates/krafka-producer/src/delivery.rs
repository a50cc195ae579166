//! A record's outcome: [`DeliveryFuture`] resolves exactly once, to the record's
//! [`RecordMetadata`] or the [`ProduceError`] that ended it.
//!
//! Records share their batch's `BatchCompletion`; a future is that `Arc` plus the record's
//! position, so sending a record allocates nothing for its future. A batch split after
//! MESSAGE_TOO_LARGE resolves its halves separately: the completion holds one outcome per
//! segment of the original batch, and resolves when every segment has one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

use crate::error::ProduceError;
use crate::record::RecordMetadata;

/// How one segment of a batch ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Acknowledged: the segment's first offset (if known) and the log append time (if the
    /// topic uses it).
    Acked {
        base_offset: Option<i64>,
        log_append_time: Option<i64>,
    },
    Failed(ProduceError),
}

#[derive(Debug)]
struct Segment {
    start: u32,
    end: u32,
    outcome: Option<Outcome>,
}

#[derive(Debug)]
struct State {
    segments: Vec<Segment>,
    unresolved: usize,
    wakers: Vec<Waker>,
}

/// The shared outcome of one batch's records.
#[derive(Debug)]
pub(crate) struct BatchCompletion {
    topic: Arc<str>,
    partition: i32,
    done: AtomicBool,
    state: Mutex<State>,
}

impl BatchCompletion {
    pub(crate) fn new(topic: Arc<str>, partition: i32) -> Arc<Self> {
        Arc::new(Self {
            topic,
            partition,
            done: AtomicBool::new(false),
            state: Mutex::new(State {
                segments: vec![Segment {
                    start: 0,
                    end: u32::MAX,
                    outcome: None,
                }],
                unresolved: 1,
                wakers: Vec::new(),
            }),
        })
    }

    /// Splits the unresolved segment starting at `start` at `at`: records from `at` on resolve
    /// separately.
    pub(crate) fn split(&self, start: u32, at: u32) {
        let mut state = self.state.lock();
        let Some(i) = state
            .segments
            .iter()
            .position(|s| s.start == start && s.outcome.is_none())
        else {
            return;
        };
        let end = state.segments[i].end;
        if at <= start || at >= end {
            return;
        }
        state.segments[i].end = at;
        state.segments.insert(
            i + 1,
            Segment {
                start: at,
                end,
                outcome: None,
            },
        );
        state.unresolved += 1;
    }

    /// Resolves the segment starting at `start`. Resolving one twice keeps the first outcome:
    /// a record resolves exactly once.
    pub(crate) fn resolve(&self, start: u32, outcome: Outcome) {
        let wakers = {
            let mut state = self.state.lock();
            let Some(segment) = state
                .segments
                .iter_mut()
                .find(|s| s.start == start && s.outcome.is_none())
            else {
                return;
            };
            segment.outcome = Some(outcome);
            state.unresolved -= 1;
            if state.unresolved > 0 {
                return;
            }
            self.done.store(true, Ordering::Release);
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn result(
        &self,
        state: &State,
        delta: u32,
        timestamp: i64,
    ) -> Result<RecordMetadata, ProduceError> {
        let segment = state
            .segments
            .iter()
            .find(|s| s.start <= delta && delta < s.end);
        match segment.and_then(|s| s.outcome.as_ref().map(|o| (s.start, o))) {
            Some((
                start,
                Outcome::Acked {
                    base_offset,
                    log_append_time,
                },
            )) => Ok(RecordMetadata {
                topic: self.topic.clone(),
                partition: self.partition,
                offset: base_offset.map(|b| b + i64::from(delta - start)),
                timestamp: log_append_time.unwrap_or(timestamp),
            }),
            Some((_, Outcome::Failed(e))) => Err(e.clone()),
            // Unreachable once done: every segment has an outcome.
            None => Err(ProduceError::Closed),
        }
    }
}

/// Resolves to where a record landed, or why it did not. Returned by
/// [`Producer::send`](crate::Producer::send).
///
/// Dropping it does not cancel the record: the outcome is only not observed. Awaiting it is
/// cancel-safe.
#[derive(Debug)]
#[must_use = "the record is sent anyway; await the future to learn its outcome"]
pub struct DeliveryFuture {
    completion: Arc<BatchCompletion>,
    delta: u32,
    timestamp: i64,
    registered: Option<usize>,
}

impl DeliveryFuture {
    pub(crate) fn new(completion: Arc<BatchCompletion>, delta: u32, timestamp: i64) -> Self {
        Self {
            completion,
            delta,
            timestamp,
            registered: None,
        }
    }

    /// Whether the outcome is known (polling would be ready).
    pub fn is_done(&self) -> bool {
        self.completion.is_done()
    }

    /// Blocks the thread until the outcome is known: for callers on a dedicated thread (after
    /// [`Producer::send_blocking`](crate::Producer::send_blocking)). Do not call it on an async
    /// runtime thread.
    pub fn wait(mut self) -> Result<RecordMetadata, ProduceError> {
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(result) = Pin::new(&mut self).poll(&mut cx) {
                return result;
            }
            std::thread::park();
        }
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut state = this.completion.state.lock();
        if this.completion.is_done() {
            return Poll::Ready(this.completion.result(&state, this.delta, this.timestamp));
        }
        match this.registered {
            Some(i) if state.wakers.get(i).is_some_and(|w| w.will_wake(cx.waker())) => {}
            Some(i) if i < state.wakers.len() => state.wakers[i] = cx.waker().clone(),
            _ => {
                this.registered = Some(state.wakers.len());
                state.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_record_of_a_batch_resolves_once_with_its_own_offset() {
        let c = BatchCompletion::new("t".into(), 3);
        let futures: Vec<_> = (0..4)
            .map(|d| DeliveryFuture::new(c.clone(), d, 100 + d as i64))
            .collect();
        let c2 = c.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            c2.resolve(
                0,
                Outcome::Acked {
                    base_offset: Some(40),
                    log_append_time: None,
                },
            );
            // A second resolution is ignored.
            c2.resolve(0, Outcome::Failed(ProduceError::Closed));
        });
        for (d, f) in futures.into_iter().enumerate() {
            let m = f.await.unwrap();
            assert_eq!(
                (m.partition, m.offset, m.timestamp),
                (3, Some(40 + d as i64), 100 + d as i64)
            );
        }
    }

    #[test]
    fn a_split_batch_resolves_when_both_halves_do() {
        let c = BatchCompletion::new("t".into(), 0);
        c.split(0, 2);
        c.resolve(2, Outcome::Failed(ProduceError::Closed));
        assert!(!c.is_done());
        c.resolve(
            0,
            Outcome::Acked {
                base_offset: Some(7),
                log_append_time: Some(5),
            },
        );
        assert!(c.is_done());
        let first = DeliveryFuture::new(c.clone(), 1, 0).wait().unwrap();
        assert_eq!((first.offset, first.timestamp), (Some(8), 5));
        assert!(DeliveryFuture::new(c, 3, 0).wait().is_err());
    }

    #[test]
    fn wait_blocks_a_thread_until_resolved() {
        let c = BatchCompletion::new("t".into(), 0);
        let f = DeliveryFuture::new(c.clone(), 0, 0);
        let t = std::thread::spawn(move || f.wait());
        std::thread::sleep(Duration::from_millis(20));
        c.resolve(
            0,
            Outcome::Acked {
                base_offset: None,
                log_append_time: None,
            },
        );
        assert_eq!(t.join().unwrap().unwrap().offset, None);
    }
}
