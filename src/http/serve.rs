//! The accept loop: takes connections from the listener and drives each with hyper until
//! it ends or the server stops.
//!
//! At most `max_connections` are open at once: a permit is taken before `accept`, so
//! further clients wait in the kernel's listen backlog, and it is released when the
//! connection's task ends. Every connection's IO passes through [`phase::PhasedIo`], so no
//! connection is held open without a deadline unless a request of it is running.
//! On shutdown the loop stops accepting, requests in flight finish, idle connections are
//! closed, and [`serve`] returns once every connection has ended.
//!
//! A connection upgraded to a WebSocket leaves hyper at the upgrade, and with it this
//! loop's count and shutdown: `ws` keeps its own deadlines, its own cap
//! (`WS_MAX_CONNECTIONS`) and closes every socket with 1012 when the server stops.

use std::{future::Future, net::SocketAddr, pin::pin, sync::Arc, time::Duration};

use axum::{Extension, Router, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::Layer as _;

use crate::metrics::Metrics;

mod phase;

use phase::{Phase, PhasedIo, Tracked};

pub(crate) use phase::Timeouts;

/// How connections are accepted and held.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeOptions {
    /// The idle and header deadlines.
    pub(crate) timeouts: Timeouts,
    /// Open connections at most.
    pub(crate) max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then shuts down gracefully.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = pin!(shutdown);
    let permits = Arc::new(Semaphore::new(options.max_connections));
    // No timer: hyper's own header timer would run while the connection is idle too.
    let builder = Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Most likely out of file descriptors: wait for some to be released.
                tracing::error!(%error, "accept failed");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let phase = Phase::new(options.timeouts);
        let io = TokioIo::new(PhasedIo::new(stream, Arc::clone(&phase)));
        // What `into_make_service_with_connect_info` does, once per connection.
        let service = Extension(ConnectInfo::<SocketAddr>(peer)).layer(router.clone());
        let service = Tracked::new(TowerToHyperService::new(service), Arc::clone(&phase));
        let connection = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let connection = graceful.watch(connection);
        let open = metrics.connection_opened();
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            if let Some(phase) = phase.timed_out() {
                tracing::debug!(%peer, phase, "connection closed by its deadline");
                metrics.connection_timed_out(phase);
            }
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// An error of one connection that is gone, not of the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
