//! [`RecordStream`]: the consumer as a `futures::Stream` of records, for applications built on
//! stream combinators.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::handle::Consumer;
use super::receive::wait;
use crate::error::ConsumeError;
use crate::record::ConsumerRecord;

type WaitFuture = Pin<Box<dyn Future<Output = Result<(), ConsumeError>> + Send>>;

/// The records of a [`Consumer`] as a [`Stream`] (from [`Consumer::stream`]). It ends when
/// the consumer is closed; errors are items, after which the stream goes on.
///
/// Cancel-safe, as [`Consumer::recv`]: a record is taken only in the `poll_next` that returns
/// it. A record costs what `recv` costs; only an empty wait allocates (its waiter).
pub struct RecordStream<'a> {
    consumer: &'a mut Consumer,
    wait: Option<WaitFuture>,
}

impl Consumer {
    /// The records as a [`Stream`], borrowing the consumer.
    pub fn stream(&mut self) -> RecordStream<'_> {
        RecordStream {
            consumer: self,
            wait: None,
        }
    }
}

impl Stream for RecordStream<'_> {
    type Item = Result<ConsumerRecord, ConsumeError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = this.wait.as_mut() {
                match wait.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(ConsumeError::Closed)) => {
                        this.wait = None;
                        return Poll::Ready(None);
                    }
                    Poll::Ready(_) => this.wait = None,
                }
            }
            this.consumer.on_poll();
            match this.consumer.take_one() {
                Ok(Some(record)) => {
                    this.consumer.shared.metrics.records_returned(1);
                    return Poll::Ready(Some(Ok(record)));
                }
                Err(ConsumeError::Closed) => return Poll::Ready(None),
                Err(error) => return Poll::Ready(Some(Err(error))),
                Ok(None) => {
                    let shared = Arc::clone(&this.consumer.shared);
                    this.wait = Some(Box::pin(async move { wait(&shared).await }));
                }
            }
        }
    }
}
