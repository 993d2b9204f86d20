//! Serving an app with what the security layer needs: the peer address of every connection,
//! and a graceful shutdown on Ctrl-C / SIGTERM.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `app` on `listener` over plain HTTP until Ctrl-C or SIGTERM, then lets in-flight
/// requests finish.
///
/// The peer address of each connection is recorded (`ConnectInfo`), which the
/// [`SecurityLayer`](crate::SecurityLayer) needs to know the client; serving with plain
/// `axum::serve(listener, app)` would leave every client as `0.0.0.0`.
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_api::serve(listener, app).await
/// # }
/// ```
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    serve_with_shutdown(listener, app, shutdown_signal()).await
}

/// [`serve`] that stops when `signal` resolves instead of on Ctrl-C / SIGTERM (tests, embedding).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(secure_api::serve_with_shutdown(listener, app, async {
///     let _ = stopped.await;
/// }));
/// let _ = stop.send(());
/// # Ok(()) }
/// ```
pub async fn serve_with_shutdown<F>(listener: TcpListener, app: Router, signal: F) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(signal).await
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
