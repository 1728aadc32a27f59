//! Accepting connections with limits that keep the service answering whatever arrives:
//! hyper serves each connection (HTTP/1.1) with a header-read timeout, which closes a
//! half-sent request and an idle keep-alive connection alike; a write that makes no progress
//! for the write timeout fails and closes the connection (hyper has no such timeout, so a
//! client that never reads would hold its connection for ever); a semaphore caps open
//! connections, and a connection beyond the cap is closed at once, so idle sockets can neither
//! use up file descriptors nor queue in the backlog ahead of lanes; a TLS handshake gets the
//! header timeout too. Refusals, failed accepts and open connections are counted in the
//! metrics.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::metrics::ConnectionMetrics;

/// After an accept error (out of file descriptors), before trying again: retrying at once
/// would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long open requests may finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub struct Limits {
    pub header_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, counting in
/// `counted`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    counted: ConnectionMetrics,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    counted.accept_errors.inc();
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            counted.refused.inc();
            tracing::debug!(%peer, max = limits.max_connections, "connection closed: too many open");
            continue;
        };
        let place = Open::new(permit, &counted);
        let connection = Connection { http: http.clone(), app: app.clone(), peer, watcher: graceful.watcher() };
        let (tls, handshake_timeout) = (tls.clone(), limits.header_timeout);
        let write_timeout = limits.write_timeout;
        tokio::spawn(async move {
            let _place = place;
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "TCP_NODELAY");
            }
            // Under TLS too, so the handshake's and the records' writes are timed.
            let mut stream = TimeoutStream::new(stream);
            stream.set_write_timeout(Some(write_timeout));
            let stream = Box::pin(stream);
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection.serve(stream).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}: closing them");
    }
}

/// An open connection's place under the cap, counted in the open-connections gauge while held.
struct Open {
    _permit: OwnedSemaphorePermit,
    gauge: prometheus::IntGauge,
}

impl Open {
    fn new(permit: OwnedSemaphorePermit, counted: &ConnectionMetrics) -> Self {
        counted.open.inc();
        Open { _permit: permit, gauge: counted.open.clone() }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// One accepted connection, ready to be served once its transport is.
struct Connection {
    http: http1::Builder,
    app: Router,
    peer: SocketAddr,
    watcher: Watcher,
}

impl Connection {
    async fn serve<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, io: T) {
        let peer = self.peer;
        // The handlers that throttle by address read it as axum's `ConnectInfo`.
        let app = self.app.map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let served = self.watcher.watch(self.http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app))).await;
        if let Err(e) = served {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
