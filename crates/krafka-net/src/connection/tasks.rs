//! The two tasks that drive a connection: the writer, which empties the high lane before the
//! normal lane and hands every frame it can take to one vectored write, and the reader, which
//! splits responses off the socket, matches them to requests and enforces deadlines.
//!
//! Neither holds the `io` lock across an `.await`: each awaits readiness or a lane, then does
//! one synchronous locked step.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use krafka_protocol::frame::FrameDecoder;
use tokio::sync::mpsc;

use super::request::{Outgoing, RequestPriority};
use super::shared::Shared;
use crate::error::NetError;
use crate::inflight::deadline_after;
use crate::stats::Lane;

/// Requests admitted per locked step, so a deep lane cannot keep the lock for long.
const MAX_BATCH: usize = 64;
/// Read into at least this much free space.
const MIN_READ_SPACE: usize = 8 * 1024;
/// Grow the read buffer by this much when it runs low.
const READ_CHUNK: usize = 64 * 1024;

pub(crate) async fn writer(
    shared: Arc<Shared>,
    mut high: mpsc::Receiver<Outgoing>,
    mut normal: mpsc::Receiver<Outgoing>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    // A request taken from its lane that found no room in flight after all (a direct write
    // took the room between the check and the take). One per lane, so a normal request
    // waiting for room never keeps a high-priority one from passing it.
    let mut held_high: Option<Outgoing> = None;
    let mut held_normal: Option<Outgoing> = None;
    // 1. Bytes left from an earlier write go first, whoever queued them.
    while let Some((unwritten, high_room, normal_room)) = flush_pending(&shared) {
        if unwritten {
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                ready = shared.transport.writable() => if let Err(e) = ready {
                    shared.fail(NetError::disconnected(&shared.addr, e));
                    break;
                },
            }
            continue;
        }
        // 2. The next request: high first; normal only while under the in-flight limit.
        let ready = if high_room && held_high.is_some() {
            held_high.take()
        } else if normal_room && held_high.is_none() && held_normal.is_some() {
            held_normal.take()
        } else {
            None
        };
        let first = match ready {
            Some(out) => out,
            None => tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                Some(out) = high.recv(), if high_room && held_high.is_none() => out,
                Some(out) = normal.recv(), if normal_room && held_normal.is_none() => out,
                _ = shared.writer_wake.notified() => continue,
            },
        };
        // Let tasks that are about to send run first, so one write carries their requests
        // too. A request reaches the lanes only when the connection is busy (an idle one is
        // written to directly), so this costs a busy connection one scheduling round.
        tokio::task::yield_now().await;
        // 3. Admit it and whatever else is already waiting, then write them all at once.
        // A held request must go before anything behind it in its lane.
        let lanes = Lanes {
            high: (held_high.is_none()).then_some(&mut high),
            normal: (held_normal.is_none()).then_some(&mut normal),
        };
        match admit_batch(&shared, first, lanes) {
            Step::Written => {}
            Step::Ended => break,
            Step::NoRoom(out) => match out.priority {
                RequestPriority::High => held_high = Some(out),
                RequestPriority::Normal => held_normal = Some(out),
            },
        }
    }
    // The connection has ended: whatever is still waiting fails with its reason.
    let error = shared.ended_error();
    high.close();
    normal.close();
    for out in held_high.into_iter().chain(held_normal) {
        out.reply.fail(error.clone());
    }
    // `recv` (not `try_recv`) until `None`: a caller may hold a lane permit reserved before the
    // close and send with it afterwards; `None` comes only once every permit is used or gone.
    while let Some(out) = high.recv().await {
        out.reply.fail(error.clone());
    }
    while let Some(out) = normal.recv().await {
        out.reply.fail(error.clone());
    }
}

/// Writes what is waiting; returns whether bytes are still left and whether each lane may be
/// taken from, or `None` once the connection has ended.
fn flush_pending(shared: &Shared) -> Option<(bool, bool, bool)> {
    let mut io = shared.io.lock();
    if io.closed.is_some() {
        return None;
    }
    let flushed = shared.flush(&mut io);
    let high_room = io.inflight.has_room() && !io.paused;
    let normal_room = high_room && io.normal_in_flight < shared.config.max_in_flight_requests;
    drop(io);
    match flushed {
        Ok(done) => Some((!done, high_room, normal_room)),
        Err(e) => {
            shared.fail(e);
            None
        }
    }
}

/// What one locked admission step did.
enum Step {
    /// Requests were admitted and written as far as the socket allowed.
    Written,
    /// The first request must wait for room in flight.
    NoRoom(Outgoing),
    /// The connection has ended.
    Ended,
}

/// The lanes an admission step may take more requests from.
struct Lanes<'a> {
    high: Option<&'a mut mpsc::Receiver<Outgoing>>,
    normal: Option<&'a mut mpsc::Receiver<Outgoing>>,
}

/// Admits `first` and up to `MAX_BATCH` requests already waiting (high lane first), then
/// flushes: one lock, one vectored write.
fn admit_batch(shared: &Shared, first: Outgoing, lanes: Lanes<'_>) -> Step {
    let mut io = shared.io.lock();
    if io.closed.is_some() {
        drop(io);
        first.reply.fail(shared.ended_error());
        return Step::Ended;
    }
    if !shared.has_room(&io, &first) {
        return Step::NoRoom(first);
    }
    let lane = match first.priority {
        RequestPriority::High => Lane::High,
        RequestPriority::Normal => Lane::Normal,
    };
    shared.admit(&mut io, first, lane);
    let mut admitted = 1;
    if let Some(high) = lanes.high {
        while admitted < MAX_BATCH && io.inflight.has_room() {
            let Ok(out) = high.try_recv() else { break };
            shared.admit(&mut io, out, Lane::High);
            admitted += 1;
        }
    }
    if let Some(normal) = lanes.normal {
        while admitted < MAX_BATCH
            && io.inflight.has_room()
            && io.normal_in_flight < shared.config.max_in_flight_requests
        {
            let Ok(out) = normal.try_recv() else { break };
            shared.admit(&mut io, out, Lane::Normal);
            admitted += 1;
        }
    }
    shared.queued.fetch_sub(admitted, Ordering::AcqRel);
    let flushed = shared.flush(&mut io);
    drop(io);
    match flushed {
        Ok(_) => Step::Written,
        Err(e) => {
            shared.fail(e);
            Step::Ended
        }
    }
}

pub(crate) async fn reader(shared: Arc<Shared>, mut buf: BytesMut) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut decoder = FrameDecoder::new(shared.config.max_response_size);
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Err(e) = deliver(&shared, frame) {
                        shared.fail(e);
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    shared.fail(NetError::protocol(&shared.addr, e));
                    return;
                }
            }
        }
        let deadline = {
            let io = shared.io.lock();
            // Closed before this task first ran (a connection closed right after it was
            // made): the shutdown signal was sent before `subscribe` and will not come again.
            if io.closed.is_some() {
                return;
            }
            io.inflight
                .next_deadline()
                .unwrap_or(deadline_after(io.last_activity, shared.config.idle_timeout))
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            ready = shared.transport.readable() => {
                if let Err(e) = ready {
                    shared.fail(NetError::disconnected(&shared.addr, e));
                    return;
                }
                if buf.capacity() - buf.len() < MIN_READ_SPACE {
                    buf.reserve(READ_CHUNK);
                }
                let read = shared.transport.try_read(&mut buf);
                if shared.transport.has_pending_output() {
                    // Reading made TLS records to send (a key update's answer): the writer
                    // sends them.
                    shared.writer_wake.notify_one();
                }
                match read {
                    Ok(0) => {
                        shared.fail(NetError::disconnected(&shared.addr, "closed by the broker"));
                        return;
                    }
                    Ok(n) => shared.stats.read(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        shared.fail(crate::transport::io_error(&shared.addr, e));
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                if let Some(error) = expired(&shared, Instant::now()) {
                    shared.fail(error);
                    return;
                }
            }
            _ = shared.reader_wake.notified() => {}
        }
    }
}

/// The error that ends the connection at `now`, if a request is past its deadline or the
/// connection has been idle too long.
fn expired(shared: &Shared, now: Instant) -> Option<NetError> {
    let io = shared.io.lock();
    if io.inflight.timed_out(now) {
        let api_key = io
            .inflight
            .oldest()
            .map_or(krafka_protocol::ApiKey(-1), |p| p.api_key);
        return Some(NetError::RequestTimeout {
            addr: shared.addr.to_string(),
            api_key,
            after: shared.config.request_timeout,
        });
    }
    if io.inflight.is_empty() && now >= deadline_after(io.last_activity, shared.config.idle_timeout)
    {
        tracing::debug!(addr = %shared.addr, "closing idle connection");
        return Some(shared.closed_error());
    }
    None
}

/// Hands a response frame to whoever waits for it.
fn deliver(shared: &Shared, frame: Bytes) -> Result<(), NetError> {
    let Some(id_bytes) = frame.first_chunk::<4>() else {
        return Err(NetError::protocol(
            &shared.addr,
            "response shorter than its header",
        ));
    };
    let correlation_id = i32::from_be_bytes(*id_bytes);
    let mut io = shared.io.lock();
    let max = shared.config.max_in_flight_requests;
    let was_full = !io.inflight.has_room();
    let normal_was_full = io.normal_in_flight >= max;
    let pending = match io.inflight.complete(correlation_id) {
        Ok(pending) => pending,
        Err(unexpected) => {
            if let Some(pos) = io.one_way.iter().position(|&id| id == correlation_id) {
                // A broker answered a request that expects no answer (tansu does, for acks=0).
                io.one_way.remove(pos);
                tracing::debug!(addr = %shared.addr, correlation_id, "dropping an answer to a one-way request");
                return Ok(());
            }
            return Err(NetError::protocol(
                &shared.addr,
                format_args!(
                    "response for correlation id {}, expected {:?}",
                    unexpected.got, unexpected.expected
                ),
            ));
        }
    };
    let mut room_freed = was_full;
    if pending.waiter.priority == RequestPriority::Normal {
        room_freed |= normal_was_full;
        io.normal_in_flight = io.normal_in_flight.saturating_sub(1);
    }
    let in_flight = io.inflight.len();
    io.last_activity = Instant::now();
    drop(io);
    if room_freed {
        shared.writer_wake.notify_one();
    }
    shared.stats.set_in_flight(in_flight);
    shared.stats.answered(pending.sent_at.elapsed());
    let _ = pending.waiter.reply.send(Ok(frame));
    Ok(())
}
