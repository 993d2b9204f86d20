//! Serving an app with what the security layer needs and what a public listener must bound.
//!
//! Every listener ([`serve`], [`serve_tls`](crate::tls::serve_tls), [`redirect_http_to_https`]) runs
//! on one accept loop and connection driver (hyper-util, HTTP/1.1 and HTTP/2): it records each
//! request's peer address (`ConnectInfo`), caps connections in total and per client, and closes
//! connections that are slow or silent, with the timeouts of [`ServeOptions`]:
//!
//! - [`options`](ServeOptions): header-read, idle, body-read and TLS handshake timeouts, HTTP/2
//!   keep-alive pings and stream cap, the shutdown grace;
//! - [`limits`](ConnectionLimits): connection caps; a refused connection is closed at once and
//!   counted in one log line per 10 s;
//! - [`BodyReadTimeout`]: what a body read returns when the body is too slow;
//! - [`HttpsRedirect`]: the plain-HTTP listener that redirects to the public HTTPS host;
//! - [`raise_open_file_limit`]: the open-file limit raised at start-up.

mod body;
pub(crate) mod driver;
mod limits;
mod nofile;
mod options;
mod redirect;
mod write_watch;

use std::convert::Infallible;
use std::future::Future;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use tokio::net::TcpListener;
use tower::Service;

pub use body::{BodyReadTimeout, is_body_read_timeout};
pub use limits::ConnectionLimits;
pub use nofile::raise_open_file_limit;
pub use options::ServeOptions;
pub use redirect::{
    HttpsRedirect, redirect_http_to_https, redirect_http_to_https_with, redirect_http_to_https_with_shutdown,
};

/// What the serving functions accept: the [`SecureApp`](crate::SecureApp) that
/// [`SecureRouter::with_state`](crate::SecureRouter::with_state) returns, or the plain router of
/// its explicit opt-out, [`SecureApp::into_router_unchecked`](crate::SecureApp::into_router_unchecked).
///
/// A service wrapped around the app from outside (a tower layer applied to the finished app) is
/// refused at compile time: whatever it answered itself (a timeout's 408, a limit's 413) would
/// miss the security headers, the request id and the audit line. Add such layers inside, with
/// [`SecureApp::layer`](crate::SecureApp::layer).
///
/// # Examples
/// A layer wrapped around the finished app does not compile:
/// ```compile_fail
/// # async fn run(app: secure_api::SecureApp, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let wrapped = tower::ServiceBuilder::new().map_response(|response: axum::response::Response| response).service(app);
/// secure_api::serve(listener, wrapped).await
/// # }
/// ```
/// The same layer inside the app does:
/// ```no_run
/// # async fn run(app: secure_api::SecureApp, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let app = app.layer(tower::layer::util::Identity::new());
/// secure_api::serve(listener, app).await
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be served by secure-api: serve the `SecureApp` that `SecureRouter::with_state` returns",
    label = "not a `SecureApp`",
    note = "a layer wrapped around the finished app would answer without the security headers and the audit line: add it with `SecureApp::layer(...)` instead"
)]
pub trait ServableApp: sealed::Sealed {}

impl ServableApp for crate::SecureApp {}
impl ServableApp for axum::Router {}

/// The router `app` is served as: what each connection clones per request.
pub(crate) fn served<S: ServableApp>(app: S) -> axum::Router {
    sealed::Sealed::into_served(app)
}

mod sealed {
    /// Keeps [`ServableApp`](super::ServableApp) to the two types above, and names the router
    /// each one is served as.
    pub trait Sealed {
        /// The router the connections call. They clone it for every request, so a
        /// [`SecureApp`](crate::SecureApp) gives its finished router (an `Arc` clone) rather
        /// than itself (route inventory and composition pieces included).
        fn into_served(self) -> axum::Router;
    }
    impl Sealed for crate::SecureApp {
        fn into_served(self) -> axum::Router {
            crate::SecureApp::into_served(self)
        }
    }
    impl Sealed for axum::Router {
        fn into_served(self) -> axum::Router {
            self
        }
    }
}

/// Serves `app` on `listener` over plain HTTP (HTTP/1.1, and HTTP/2 with prior knowledge) with
/// the default [`ServeOptions`] until Ctrl-C or SIGTERM, then lets in-flight requests finish.
///
/// The peer address of each connection is recorded (`ConnectInfo`), which the
/// [`SecurityLayer`](crate::layer::SecurityLayer) needs to know the client.
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_api::serve(listener, app).await
/// # }
/// ```
pub async fn serve<S>(listener: TcpListener, app: S) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
{
    serve_with(listener, app, ServeOptions::default(), shutdown_signal()).await
}

/// [`serve`] that stops when `signal` resolves instead of on Ctrl-C / SIGTERM (tests, embedding).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(secure_api::serve::serve_with_shutdown(listener, app, async {
///     let _ = stopped.await;
/// }));
/// let _ = stop.send(());
/// # Ok(()) }
/// ```
pub async fn serve_with_shutdown<S, F>(listener: TcpListener, app: S, signal: F) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    serve_with(listener, app, ServeOptions::default(), signal).await
}

/// [`serve`] with its own timeouts and connection caps, stopping when `signal` resolves (pass
/// [`shutdown_signal()`] for Ctrl-C / SIGTERM).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
/// use secure_api::{serve::ConnectionLimits, serve::ServeOptions};
///
/// let options = ServeOptions::default()
///     .header_read_timeout(Duration::from_secs(5))
///     .connection_limits(ConnectionLimits::default().max_per_client(20));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// secure_api::serve::serve_with(listener, app, options, secure_api::serve::shutdown_signal()).await
/// # }
/// ```
pub async fn serve_with<S, F>(listener: TcpListener, app: S, options: ServeOptions, signal: F) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    driver::run(listener, served(app), options, driver::Transport::Plain, signal).await
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
