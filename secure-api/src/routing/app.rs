//! The finished app: what [`SecureRouter::with_state`](crate::SecureRouter::with_state) returns.
//!
//! A [`SecureApp`] keeps the routed, stated router *without* the app-wide parts, and adds them
//! around everything when it is finished: the problem+json 404 / 405 fallbacks (or the user's
//! annotated fallback), CORS, and the [`SecurityLayer`]. So layers, fallbacks, merged and nested
//! apps added after `with_state` all sit inside the security layer: every response gets the
//! security headers, a request id and an audit line, whatever the composition.
//!
//! It offers no way to add an unannotated route: [`SecureApp::into_router_unchecked`] is the one,
//! visible, opt-out.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::routing::{MethodRouter, Route};
use axum::serve::{IncomingStream, Listener};
use http::{Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::{RouteInfo, SecureHandler, nested_path};
use crate::layer::SecurityLayer;
use crate::problem::Problem;
use crate::state::Security;

/// A finished secure app: every route annotated, the state supplied, the security layer around
/// everything. Serve it, send it requests, or compose it further.
///
/// - **Serving**: `axum::serve(listener, app)` records each connection's peer address (the
///   client identity and the per-client rate limits depend on it), as do [`crate::serve()`] and
///   [`crate::tls::serve_tls`]. A request that reaches the app without a peer address (a custom
///   server that does not insert `ConnectInfo<SocketAddr>`) is refused with `500` problem+json,
///   never served as one shared anonymous client.
/// - **Layers** ([`SecureApp::layer`]) run inside the security layer: a `TimeoutLayer`'s `408`
///   gets the security headers, a request id, an audit line, and a problem+json body.
/// - **Fallback** ([`SecureApp::fallback`], [`SecureRouter::fallback`](crate::SecureRouter::fallback))
///   takes an annotated handler only; without one, unknown paths get a `404` problem.
/// - **Merge / nest** ([`SecureApp::merge`], [`SecureApp::nest`]) follow axum's semantics
///   (including its panics on overlapping routes and on nesting at `/`); the route inventory
///   records the paths axum serves. When both sides of a merge have a fallback, this app's wins
///   (axum would panic) and a warning is logged.
/// - **No `nest_service` / `route_service`**: a service has no policy the router can check, so
///   the only way to mount one is the visible opt-out, [`SecureApp::into_router_unchecked`].
/// - This app's [`Security`] provides the app-wide settings (security headers, audit log, trusted
///   proxies, IP rules, CORS) for everything merged or nested into it; each handler's guard keeps
///   the `Security` of the state it was built with.
///
/// # Examples
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::extract::ConnectInfo;
/// use secure_api::{SecureRouter, Security, public, routing::get};
/// use tower::ServiceExt;
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// let app = SecureRouter::new().route("/health", get(health)).with_state(Security::builder().build());
/// assert_eq!(app.routes().len(), 1);
/// // What a server records for each connection (`secure_api::testing::send` does it for tests).
/// let mut request = http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
/// request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40000))));
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["x-content-type-options"], "nosniff");
/// # });
/// ```
///
/// Serving it with plain axum records the peer address:
/// ```no_run
/// # async fn run(app: secure_api::SecureApp) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// A plain (unannotated) handler cannot be routed on a finished app: it has no `route` method.
/// ```compile_fail
/// use secure_api::{SecureRouter, Security};
///
/// async fn forgotten() -> &'static str { "open door" }
///
/// let app = SecureRouter::new().with_state(Security::builder().build());
/// let app = app.route("/admin", axum::routing::get(forgotten));
/// ```
///
/// Nor can it be a fallback:
/// ```compile_fail
/// use secure_api::{SecureRouter, Security};
///
/// async fn forgotten() -> &'static str { "open door" }
///
/// let app = SecureRouter::new().with_state(Security::builder().build()).fallback(forgotten);
/// ```
#[derive(Clone)]
#[must_use]
pub struct SecureApp {
    /// What the app is composed of, shared: servers clone the app for every request (hyper's
    /// service per request, `tower::ServiceExt::oneshot`), so a clone must not copy the route
    /// inventory or the fallback's method router (it did, costing every served request about
    /// 2.8k instructions more than the benchmarked router; BENCHMARKS.md).
    assembly: Arc<Assembly>,
    /// `assembly.parts` with the fallbacks, CORS and the security layer: what is served.
    finished: Router,
}

/// The pieces a [`SecureApp`] is built from, kept for further composition.
#[derive(Clone)]
struct Assembly {
    /// The routed, stated router, with no fallback and no app-wide layer (so it can be merged
    /// and nested without axum's "both have a fallback" panic).
    parts: Router,
    /// The user's annotated fallback, if any.
    fallback: Option<MethodRouter>,
    /// Whose app-wide settings the security layer applies.
    security: Security,
    routes: Vec<RouteInfo>,
}

impl std::fmt::Debug for SecureApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureApp").field("routes", &self.assembly.routes).finish_non_exhaustive()
    }
}

impl SecureApp {
    /// Called by [`SecureRouter::with_state`](crate::SecureRouter::with_state).
    pub(super) fn new(
        parts: Router,
        fallback: Option<MethodRouter>,
        security: Security,
        routes: Vec<RouteInfo>,
    ) -> Self {
        let finished = finish(&parts, fallback.as_ref(), &security);
        Self { assembly: Arc::new(Assembly { parts, fallback, security, routes }), finished }
    }

    /// Every route with its policy, in registration order, with the paths axum serves (nesting
    /// prefixes included). Feed it to the OpenAPI document, the report and the self-scan.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.assembly.routes
    }

    /// The [`Security`] whose app-wide settings the security layer applies.
    pub fn security(&self) -> &Security {
        &self.assembly.security
    }

    /// Applies a tower layer to every route of the app (like `Router::layer`), *inside* the
    /// security layer: its responses (a `TimeoutLayer`'s `408`, a limit layer's `413`) get the
    /// security headers, a request id, the audit line, and a problem+json body when they are
    /// an error without one.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security, public, routing::get};
    ///
    /// #[public]
    /// async fn health() -> &'static str { "ok" }
    ///
    /// let app = SecureRouter::new()
    ///     .route("/health", get(health))
    ///     .with_state(Security::builder().build())
    ///     .layer(tower::layer::util::Identity::new());
    /// ```
    pub fn layer<L>(self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<Body>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request<Body>>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request<Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let Assembly { parts, fallback, security, routes } = self.into_assembly();
        // The user's fallback too (like `Router::layer`); the framework's own 404 and 405
        // answers are added when the app is finished, inside the security layer.
        let fallback = fallback.map(|fallback| fallback.layer(layer.clone()));
        Self::new(parts.layer(layer), fallback, security, routes)
    }

    /// Answers requests no route matches with an annotated handler (`#[public]` or `#[secure]`)
    /// instead of the default `404` problem. Its state is this app's [`Security`]; a fallback
    /// that needs the application's own state goes on the
    /// [`SecureRouter`](crate::SecureRouter::fallback) before `with_state`.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security, public, routing::get};
    ///
    /// #[public]
    /// async fn not_here() -> (http::StatusCode, &'static str) {
    ///     (http::StatusCode::NOT_FOUND, "nothing here")
    /// }
    ///
    /// let app = SecureRouter::new().with_state(Security::builder().build()).fallback(not_here);
    /// ```
    pub fn fallback<H, T>(self, handler: H) -> Self
    where
        H: SecureHandler<T, Security>,
        T: 'static,
    {
        let Assembly { parts, security, routes, .. } = self.into_assembly();
        let fallback = axum::routing::any(handler).with_state(security.clone());
        Self::new(parts, Some(fallback), security, routes)
    }

    /// Serves `other`'s routes too (like `Router::merge`); if both have a fallback, this app's
    /// wins. This app's layer settings (trusted proxies, IP rules, penalty box, request limits,
    /// security headers, the audit log) apply to all of them. Each handler's own checks
    /// (authentication, scopes, rate limits, threat detection, validation) use the
    /// [`Security`] of the app it was built with: build both apps with clones of one `Security`
    /// unless that difference is wanted.
    ///
    /// # Panics
    /// Like `Router::merge`, when both apps have the same route (a programming error, found at
    /// start-up).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security, public, routing::get};
    ///
    /// #[public]
    /// async fn health() -> &'static str { "ok" }
    /// #[public]
    /// async fn version() -> &'static str { "1" }
    ///
    /// let security = Security::builder().build();
    /// let health = SecureRouter::new().route("/health", get(health)).with_state(security.clone());
    /// let version = SecureRouter::new().route("/version", get(version)).with_state(security);
    /// let app = health.merge(version);
    /// assert_eq!(app.routes().len(), 2);
    /// ```
    pub fn merge(self, other: SecureApp) -> Self {
        let Assembly { parts, fallback, security, mut routes } = self.into_assembly();
        let other = other.into_assembly();
        routes.extend(other.routes);
        Self::new(parts.merge(other.parts), merged_fallback(fallback, other.fallback), security, routes)
    }

    /// Serves `other` under `prefix` (like `Router::nest`): `other`'s `/` is served at `prefix`
    /// exactly, and its fallback answers the unknown paths under `prefix`. As with
    /// [`merge`](Self::merge), this app's layer settings apply to `other`'s routes, whose
    /// handlers keep the checks of the [`Security`] `other` was built with.
    ///
    /// # Panics
    /// Like `Router::nest`, when `prefix` is empty or `/` (use [`SecureApp::merge`]) or overlaps
    /// an existing route.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security, public, routing::get};
    ///
    /// #[public]
    /// async fn list() -> &'static str { "[]" }
    ///
    /// let security = Security::builder().build();
    /// let orders = SecureRouter::new().route("/", get(list)).with_state(security.clone());
    /// let app = SecureRouter::new().with_state(security).nest("/orders", orders);
    /// assert_eq!(app.routes()[0].path, "/orders");
    /// ```
    pub fn nest(self, prefix: &str, other: SecureApp) -> Self {
        let other = other.into_assembly();
        let nested = match other.fallback {
            // A nested fallback stays in the nested router's own fallback table, which axum
            // mounts under the prefix; this app's fallback table stays default (mergeable).
            Some(fallback) => other.parts.fallback_service(fallback),
            None => other.parts,
        };
        let Assembly { parts, fallback, security, mut routes } = self.into_assembly();
        routes.extend(
            other.routes.into_iter().map(|route| RouteInfo { path: nested_path(prefix, &route.path), ..route }),
        );
        Self::new(parts.nest(prefix, nested), fallback, security, routes)
    }

    /// The finished app as a plain `axum::Router`: an explicit opt-out of the guarantee that
    /// every route has a policy.
    ///
    /// The routes it has so far stay inside the security layer. Anything added to the returned
    /// router afterwards (`.route(..)` with a plain handler, `.layer(..)`, `.fallback(..)`)
    /// is **outside** it: no policy, no security headers, no audit line. Prefer
    /// [`SecureApp::layer`], [`SecureApp::merge`], [`SecureApp::nest`] and [`SecureApp::fallback`].
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security};
    ///
    /// let app = SecureRouter::new().with_state(Security::builder().build());
    /// // Deliberately open and unaudited: visible in review by its name.
    /// let router: axum::Router = app.into_router_unchecked()
    ///     .route("/legacy", axum::routing::get(|| async { "unguarded" }));
    /// ```
    pub fn into_router_unchecked(self) -> Router {
        self.finished
    }

    /// What [`crate::serve()`] and [`crate::tls::serve_tls`] serve: the finished router, which
    /// their connections clone for every request.
    pub(crate) fn into_served(self) -> Router {
        self.finished
    }

    /// The pieces, for composing a new app (copied only if another clone of this app lives).
    fn into_assembly(self) -> Assembly {
        Arc::unwrap_or_clone(self.assembly)
    }
}

/// The fallbacks, CORS and the security layer around `parts`.
fn finish(parts: &Router, fallback: Option<&MethodRouter>, security: &Security) -> Router {
    // The 405 fallback is set on every method router present now, including merged and nested
    // ones: that is why it is added only here.
    let router = parts.clone().method_not_allowed_fallback(method_not_allowed);
    let router = match fallback {
        Some(fallback) => router.fallback_service(fallback.clone()),
        None => router.fallback(not_found),
    };
    // CORS inside the security layer, so preflights get the headers and an audit line too.
    let router = match security.cors_layer() {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // `with_state(())` turns every route into its final service once, not per request.
    router.layer(SecurityLayer::new(security.clone())).with_state(())
}

fn merged_fallback(ours: Option<MethodRouter>, theirs: Option<MethodRouter>) -> Option<MethodRouter> {
    match (ours, theirs) {
        (Some(ours), Some(_)) => {
            tracing::warn!(
                target: "secure_api::config",
                "both merged apps have a fallback; the one of the app `merge` was called on answers"
            );
            Some(ours)
        }
        (ours, theirs) => ours.or(theirs),
    }
}

/// Routing's own rejections use the same envelope as every other rejection.
async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found").with_detail("No route matches this path.")
}

async fn method_not_allowed() -> Problem {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method Not Allowed")
        .with_detail("This route does not accept this method.")
}

/// Requests sent straight to the app (`oneshot`, a custom server). The caller must insert the
/// peer address (`ConnectInfo<SocketAddr>`); without it the security layer answers `500`.
impl Service<Request<Body>> for SecureApp {
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<Request<Body>>::poll_ready(&mut self.finished, cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.finished.call(request)
    }
}

/// `axum::serve(listener, app)`: each connection gets a service that records its peer address.
impl<L> Service<IncomingStream<'_, L>> for SecureApp
where
    L: Listener<Addr = SocketAddr>,
{
    type Response = ConnectedApp<Router>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(ConnectedApp::new(self.finished.clone(), *stream.remote_addr())))
    }
}

/// An app serving one connection: inserts the connection's peer address (`ConnectInfo`) into
/// every request, replacing any set before (the socket is the only source of truth).
///
/// # Examples
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use secure_api::{routing::ConnectedApp, SecureRouter, Security, public, routing::get};
/// use tower::ServiceExt;
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// let app = SecureRouter::new().route("/health", get(health)).with_state(Security::builder().build());
/// let connection = ConnectedApp::new(app, "192.0.2.7:5000".parse().unwrap());
/// let request = http::Request::get("/health").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(connection.oneshot(request).await.unwrap().status(), 200);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ConnectedApp<A> {
    app: A,
    peer: SocketAddr,
}

impl<A> ConnectedApp<A> {
    /// `app` serving a connection from `peer`.
    pub fn new(app: A, peer: SocketAddr) -> Self {
        Self { app, peer }
    }
}

impl<A> Service<Request<Body>> for ConnectedApp<A>
where
    A: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = A::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.app.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.app.call(request)
    }
}
