//! Serving an app with what the security layer needs: the peer address of every connection,
//! and a graceful shutdown on Ctrl-C / SIGTERM.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::router::RecordPeer;

/// Serves `app` on `listener` over plain HTTP until Ctrl-C or SIGTERM, then lets in-flight
/// requests finish.
///
/// The peer address of each connection is recorded (`ConnectInfo`), which the
/// [`SecurityLayer`](crate::SecurityLayer) needs to know the client (it refuses a request
/// without one). `app` is a [`SecureApp`](crate::SecureApp) or any app service;
/// `axum::serve(listener, app)` of a `SecureApp` records the peer too.
///
/// # Examples
/// ```no_run
/// # async fn run(app: secure_api::SecureApp) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_api::serve(listener, app).await
/// # }
/// ```
pub async fn serve<A>(listener: TcpListener, app: A) -> std::io::Result<()>
where
    A: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    A::Future: Send,
{
    serve_with_shutdown(listener, app, shutdown_signal()).await
}

/// [`serve`] that stops when `signal` resolves instead of on Ctrl-C / SIGTERM (tests, embedding).
///
/// # Examples
/// ```no_run
/// # async fn run(app: secure_api::SecureApp) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(secure_api::serve_with_shutdown(listener, app, async {
///     let _ = stopped.await;
/// }));
/// let _ = stop.send(());
/// # Ok(()) }
/// ```
pub async fn serve_with_shutdown<A, F>(listener: TcpListener, app: A, signal: F) -> std::io::Result<()>
where
    A: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    A::Future: Send,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, RecordPeer(app)).with_graceful_shutdown(signal).await
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what container runtimes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a signal handler we can only wait forever; the process is then stopped by force.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!(target: "secure_api::serve", "shutting down: finishing in-flight requests");
}
