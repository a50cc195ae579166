//! KIP-368 re-authentication: before the broker's SASL session lapses, authenticate again on
//! the same connection, without failing or reordering any request.
//!
//! A task per SASL connection sleeps until 85–95% of the session lifetime has passed (Java's
//! rule; the spread keeps a client's connections apart), then *pauses* the connection: no new
//! request is admitted (callers and the writer see no room, so requests wait in their lanes in
//! order), while requests already written are answered as usual. The SASL requests go in
//! behind them, so the broker, which reads a connection's requests one at a time, answers
//! everything before them first. When the exchange is done the connection resumes and the
//! waiting requests follow. A failed re-authentication fails the connection with the
//! authentication error.

use std::sync::Arc;
use std::time::Duration;

use krafka_protocol::RequestMessage;
use tokio::sync::oneshot;

use super::request::{Outgoing, Reply, RequestPriority, ResponseFuture};
use super::shared::Shared;
use crate::error::NetError;
use crate::security::SaslConfig;
use crate::security::sasl::session::reauthentication_delay;
use crate::stats::Lane;

/// Re-authenticates `shared` each time its session nears its end, until the connection ends.
pub(crate) async fn run(shared: Arc<Shared>, sasl: SaslConfig, first_lifetime: Duration) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut lifetime = first_lifetime;
    let mut round: u64 = 0;
    loop {
        if shared.io.lock().closed.is_some() {
            return;
        }
        let delay = reauthentication_delay(lifetime, jitter(shared.id, round));
        round += 1;
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(delay) => {}
        }
        let result = reauthenticate(&shared, &sasl).await;
        shared.resume();
        match result {
            Ok(Some(next)) => {
                tracing::debug!(addr = %shared.addr, id = shared.id, lifetime = ?next, "re-authenticated");
                shared.stats.reauthenticated();
                lifetime = next;
            }
            Ok(None) => {
                tracing::debug!(addr = %shared.addr, "re-authenticated; the session no longer expires");
                return;
            }
            Err(error) => {
                shared.fail(error);
                return;
            }
        }
    }
}

/// A number in 0..1 that differs between connections and rounds.
fn jitter(id: u64, round: u64) -> f64 {
    let mut z = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ round.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 31;
    (z % 1000) as f64 / 1000.0
}

/// One exchange on the paused connection; the new session lifetime.
async fn reauthenticate(shared: &Shared, sasl: &SaslConfig) -> Result<Option<Duration>, NetError> {
    let authenticator = crate::security::sasl::authenticator(sasl)
        .await
        .map_err(|e| crate::handshake::authentication_error(&shared.addr, sasl, e))?;
    shared.pause();
    let mut link = PausedLink(shared);
    crate::handshake::exchange(
        &mut link,
        &shared.addr,
        &shared.versions,
        sasl,
        authenticator,
    )
    .await
}

/// The paused connection as the SASL exchange's link.
struct PausedLink<'a>(&'a Shared);

impl crate::handshake::SaslLink for PausedLink<'_> {
    async fn round_trip<M: RequestMessage>(
        &mut self,
        request: &M,
        version: i16,
    ) -> Result<M::Response, NetError> {
        send_paused(self.0, request, version).await
    }
}

/// Sends one SASL request on the paused connection, behind everything already admitted.
async fn send_paused<M: RequestMessage>(
    shared: &Shared,
    request: &M,
    version: i16,
) -> Result<M::Response, NetError> {
    let (tx, rx) = oneshot::channel();
    let out = Outgoing::encode(
        M::API_KEY,
        version,
        &shared.client_id,
        0,
        |buf| request.encode(buf, version),
        RequestPriority::High,
        Reply::Response(tx),
    )?;
    {
        let mut io = shared.io.lock();
        if let Some(error) = &io.closed {
            return Err(error.clone());
        }
        shared.admit(&mut io, out, Lane::High);
        match shared.flush(&mut io) {
            Ok(true) => {}
            Ok(false) => shared.writer_wake.notify_one(),
            Err(e) => {
                drop(io);
                shared.fail(e.clone());
                return Err(e);
            }
        }
    }
    let response = ResponseFuture {
        rx,
        api_key: M::API_KEY,
        version,
        addr: shared.addr.clone(),
    }
    .await?;
    response.decode::<M::Response>()
}
