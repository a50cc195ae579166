//! [`Slots`]: a fixed set of places for futures of one type, polled only when woken, for the
//! partitioned processing helper.
//!
//! Why not spawn a task per record, or use `FuturesUnordered`: both allocate per future. Here
//! each slot's box and waker are made once; a finished slot takes its next future in place
//! (`Pin::set`), so running a record costs no allocation. Each slot's waker puts the slot on a
//! ready list and wakes the task polling the set, so a wake polls one future, not all of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

/// The ready list and the waker of the task that polls the set.
#[derive(Default)]
struct Ready {
    /// Slots to poll; each at most once (guarded by its `queued` flag).
    list: Mutex<Vec<usize>>,
    owner: Mutex<Option<Waker>>,
}

struct SlotWaker {
    index: usize,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.list.lock().push(self.index);
        }
        if let Some(owner) = self.ready.owner.lock().as_ref() {
            owner.wake_by_ref();
        }
    }
}

/// Up to `capacity` futures of type `F`, each with a tag `T` saying what it works on.
pub(crate) struct Slots<F, T> {
    futures: Vec<Pin<Box<Option<F>>>>,
    tags: Vec<Option<T>>,
    wakers: Vec<(Arc<SlotWaker>, Waker)>,
    free: Vec<usize>,
    ready: Arc<Ready>,
}

impl<F: Future, T> Slots<F, T> {
    pub(crate) fn new(capacity: usize) -> Self {
        let ready = Arc::new(Ready::default());
        let capacity = capacity.max(1);
        let wakers = (0..capacity)
            .map(|index| {
                let slot = Arc::new(SlotWaker {
                    index,
                    queued: AtomicBool::new(false),
                    ready: Arc::clone(&ready),
                });
                let waker = Waker::from(Arc::clone(&slot));
                (slot, waker)
            })
            .collect();
        Self {
            futures: (0..capacity).map(|_| Box::pin(None)).collect(),
            tags: (0..capacity).map(|_| None).collect(),
            wakers,
            free: (0..capacity).rev().collect(),
            ready,
        }
    }

    /// Futures running.
    pub(crate) fn len(&self) -> usize {
        self.futures.len() - self.free.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Starts `future` in a free slot; gives it back when the set is full.
    pub(crate) fn push(&mut self, future: F, tag: T) -> Result<(), (F, T)> {
        let Some(index) = self.free.pop() else {
            return Err((future, tag));
        };
        self.futures[index].set(Some(future));
        self.tags[index] = Some(tag);
        // Polled at the next `poll_next`, as if woken.
        self.wakers[index].0.wake_by_ref();
        Ok(())
    }

    /// The next finished future's output and tag; pending while none has finished (and
    /// while the set is empty).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<(F::Output, T)> {
        {
            let mut owner = self.ready.owner.lock();
            if !owner.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *owner = Some(cx.waker().clone());
            }
        }
        loop {
            let Some(index) = self.ready.list.lock().pop() else {
                return Poll::Pending;
            };
            let (slot, waker) = &self.wakers[index];
            slot.queued.store(false, Ordering::Release);
            let Some(future) = self.futures[index].as_mut().as_pin_mut() else {
                continue;
            };
            if let Poll::Ready(output) = future.poll(&mut Context::from_waker(waker)) {
                self.futures[index].set(None);
                self.free.push(index);
                if let Some(tag) = self.tags[index].take() {
                    return Poll::Ready((output, tag));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[tokio::test]
    async fn runs_futures_to_completion_reusing_slots() {
        let mut slots: Slots<tokio::sync::oneshot::Receiver<u32>, u32> = Slots::new(2);
        let (a_tx, a) = tokio::sync::oneshot::channel();
        let (b_tx, b) = tokio::sync::oneshot::channel();
        slots.push(a, 1).unwrap();
        slots.push(b, 2).unwrap();
        assert!(slots.is_full());
        let (c_tx, c) = tokio::sync::oneshot::channel::<u32>();
        let (c, _) = slots.push(c, 3).unwrap_err();

        b_tx.send(20).unwrap();
        let (out, tag) = poll_fn(|cx| slots.poll_next(cx)).await;
        assert_eq!((out.unwrap(), tag), (20, 2));
        slots.push(c, 3).unwrap();
        c_tx.send(30).unwrap();
        a_tx.send(10).unwrap();
        let mut got = vec![
            poll_fn(|cx| slots.poll_next(cx)).await,
            poll_fn(|cx| slots.poll_next(cx)).await,
        ]
        .into_iter()
        .map(|(o, t)| (o.unwrap(), t))
        .collect::<Vec<_>>();
        got.sort();
        assert_eq!(got, [(10, 1), (30, 3)]);
        assert_eq!(slots.len(), 0);
    }

    #[tokio::test]
    async fn an_empty_set_is_pending_and_wakes_when_a_future_is_pushed_and_finishes() {
        let mut slots: Slots<tokio::time::Sleep, ()> = Slots::new(1);
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            poll_fn(|cx| slots.poll_next(cx)),
        )
        .await;
        assert!(pending.is_err());
        slots
            .push(tokio::time::sleep(std::time::Duration::from_millis(10)), ())
            .unwrap();
        poll_fn(|cx| slots.poll_next(cx)).await;
        assert_eq!(slots.len(), 0);
    }
}
