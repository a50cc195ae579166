//! [`BlockingReceiver`]: records for a dedicated (non-async) thread, fed through a bounded
//! crossbeam channel by a task that owns the consumer.
//!
//! - **Backpressure.** The channel holds at most `batches` batches. When the thread falls
//!   behind, the task stops taking records, the consumer's prefetch budget fills, and the
//!   fetcher stops fetching: memory stays bounded.
//! - **Commits.** A batch counts as processed once the thread asks for the next one (as Java
//!   counts a `poll`'s records processed at the next `poll`), and every record it was given
//!   counts when it closes the receiver. Commits (auto-commit, revocations, the final one)
//!   cover processed records only, never records still waiting in the channel.
//! - **Revocations.** Before the group takes partitions away, the task waits until the thread
//!   has finished every batch it was sent, so the revocation commits all of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use tokio::sync::{Notify, oneshot};

use super::handle::{Consumer, Processed};
use crate::error::ConsumeError;
use crate::record::{ConsumerRecord, TopicPartition};

type Batch = Result<Vec<ConsumerRecord>, ConsumeError>;

/// What the thread and the forwarding task share.
struct Link {
    /// Batches the thread has finished.
    finished: AtomicU64,
    /// Wakes the task: the thread took or finished a batch.
    room: Notify,
    processed: Processed,
}

/// Records for a dedicated thread (from [`Consumer::into_blocking`]). Its methods block; use
/// it outside the async runtime.
pub struct BlockingReceiver {
    batches: Receiver<Batch>,
    current: std::vec::IntoIter<ConsumerRecord>,
    /// The last offset handed out per partition in the current batch.
    returned: Vec<(TopicPartition, i64)>,
    /// The thread holds a batch from the channel.
    in_batch: bool,
    link: Arc<Link>,
    stop: Option<oneshot::Sender<()>>,
    closed: Option<oneshot::Receiver<()>>,
}

impl Consumer {
    /// Hands the consumer to a task that feeds a [`BlockingReceiver`] for a dedicated thread:
    /// up to `batches` batches of up to `batch_size` records wait in a bounded channel. Must be
    /// called inside a Tokio runtime; the receiver then works from any thread.
    pub fn into_blocking(mut self, batches: usize, batch_size: usize) -> BlockingReceiver {
        let (tx, rx) = bounded(batches.max(1));
        let link = Arc::new(Link {
            finished: AtomicU64::new(0),
            room: Notify::new(),
            processed: Processed::default(),
        });
        self.processed = Some(Arc::clone(&link.processed));
        let (stop, stopped) = oneshot::channel();
        let (done, closed) = oneshot::channel();
        tokio::spawn(forward(
            self,
            tx,
            Arc::clone(&link),
            stopped,
            done,
            batch_size.max(1),
        ));
        BlockingReceiver {
            batches: rx,
            current: Vec::new().into_iter(),
            returned: Vec::new(),
            in_batch: false,
            link,
            stop: Some(stop),
            closed: Some(closed),
        }
    }
}

/// The forwarding task: polls the consumer and fills the channel while it has room.
async fn forward(
    mut consumer: Consumer,
    tx: Sender<Batch>,
    link: Arc<Link>,
    mut stop: oneshot::Receiver<()>,
    done: oneshot::Sender<()>,
    batch_size: usize,
) {
    let mut sent = 0u64;
    loop {
        let revocation_waits =
            consumer.revocation_pending().is_some() && link.finished.load(Ordering::Acquire) < sent;
        if revocation_waits || tx.is_full() {
            tokio::select! {
                _ = &mut stop => break,
                () = link.room.notified() => continue,
            }
        }
        tokio::select! {
            _ = &mut stop => break,
            got = consumer.poll_holding_revocations(batch_size, |_| {
                link.finished.load(Ordering::Acquire) >= sent
            }) => {
                let got = match got {
                    // A revocation waits for the thread: back to the top to wait with it.
                    Ok(None) => continue,
                    Ok(Some(batch)) => Ok(batch),
                    Err(e) => Err(e),
                };
                let failed = got.is_err();
                if matches!(got, Err(ConsumeError::Closed)) {
                    break;
                }
                if !failed {
                    sent += 1;
                }
                // Never blocks: this task is the only sender and the channel had room.
                if tx.send(got).is_err() {
                    break;
                }
            }
        }
    }
    // Commits what the thread processed (the override stays in place for the close).
    consumer.close().await;
    let _ = done.send(());
}

impl BlockingReceiver {
    /// The next record, blocking until one arrives. Returns [`ConsumeError::Closed`] once the
    /// consumer is closed.
    pub fn recv(&mut self) -> Result<ConsumerRecord, ConsumeError> {
        self.next(None)?.ok_or(ConsumeError::Closed)
    }

    /// Like [`recv`](Self::recv), waiting at most `timeout`: `Ok(None)` when nothing came.
    pub fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ConsumerRecord>, ConsumeError> {
        self.next(Some(timeout))
    }

    /// Commits what was processed (every record handed out counts), leaves the group, and
    /// waits until the consumer is closed.
    pub fn close(mut self) {
        self.publish();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(closed) = self.closed.take() {
            let _ = closed.blocking_recv();
        }
    }

    fn next(&mut self, timeout: Option<Duration>) -> Result<Option<ConsumerRecord>, ConsumeError> {
        loop {
            if let Some(record) = self.current.next() {
                self.note_returned(&record);
                return Ok(Some(record));
            }
            if self.in_batch {
                // The thread is back for more: the batch it had is done.
                self.in_batch = false;
                self.publish();
                self.link.finished.fetch_add(1, Ordering::AcqRel);
                self.link.room.notify_one();
            }
            let batch = match timeout {
                None => self.batches.recv().map_err(|_| ConsumeError::Closed)?,
                Some(timeout) => match self.batches.recv_timeout(timeout) {
                    Ok(batch) => batch,
                    Err(RecvTimeoutError::Timeout) => return Ok(None),
                    Err(RecvTimeoutError::Disconnected) => return Err(ConsumeError::Closed),
                },
            };
            // The task may refill the slot this batch left.
            self.link.room.notify_one();
            self.current = batch?.into_iter();
            self.in_batch = true;
        }
    }

    fn note_returned(&mut self, record: &ConsumerRecord) {
        let (partition, offset) = (record.partition(), record.offset());
        match self
            .returned
            .iter_mut()
            .find(|(tp, _)| *tp.topic == *record.topic() && tp.partition == partition)
        {
            Some(entry) => entry.1 = offset,
            None => self.returned.push((
                TopicPartition::new(Arc::clone(record.topic_arc()), partition),
                offset,
            )),
        }
    }

    /// Marks every record handed out so far as processed.
    fn publish(&mut self) {
        if self.returned.is_empty() {
            return;
        }
        let mut processed = self.link.processed.lock();
        for (tp, offset) in self.returned.drain(..) {
            processed.insert(tp, offset + 1);
        }
    }
}
