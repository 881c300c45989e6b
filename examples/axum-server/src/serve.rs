//! The connection loop: HTTP/1.1 over any listener (plain TCP or the TLS listener), with
//! the bounds `axum::serve` does not set. Request headers must arrive within
//! [`HEADER_TIMEOUT`] (against slow-loris clients), at most [`MAX_CONNECTIONS`] are open
//! at once (beyond it, new ones are closed at once rather than exhausting file
//! descriptors), and shutdown stops accepting, lets requests in flight finish, and closes
//! idle keep-alive connections.

use std::sync::Arc;

use axum::serve::Listener;
use axum::Router;
use example_support::{HEADER_TIMEOUT, MAX_CONNECTIONS};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{watch, Semaphore};

/// Serves `router` on `listener` until `stop` turns true, then drains.
pub(crate) async fn serve<L: Listener>(
    mut listener: L,
    router: Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    loop {
        let (io, _peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
