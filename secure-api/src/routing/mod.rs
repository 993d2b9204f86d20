//! The router that accepts only annotated handlers and records every route's policy.
//!
//! axum implements `Handler<T, S>` for async functions keyed by the tuple of their argument
//! types, `T = (M, T1, T2, ...)`. `#[secure]` and `#[public]` insert a [`Guard<P>`] as the first
//! argument, so an annotated handler's `T` is `(M, Guard<P>, ...)`. [`SecureHandler`] is
//! implemented only for handlers whose `T` has that shape, and the routing functions of this
//! module ([`get`], [`post`], ...) require it: registering a plain function does not compile.
//! The same bound hands the router `P::POLICY`, so it records each route's policy without a
//! global registry.

use std::convert::Infallible;

use axum::Router;
use axum::extract::FromRef;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use http::{Method, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::AuthScheme;
use crate::policy::{Policy, RoutePolicy};
use crate::state::Security;

mod app;

/// The extractor `#[secure]` and `#[public]` insert as a handler's first argument: it runs the
/// route's policy before any other argument is extracted. Handler authors never write it; it is
/// public because the bounds above name it ([`GuardedArgs`]) and compiler messages show it.
pub use crate::guard::Guard;
pub use app::{ConnectedApp, SecureApp};

/// Implemented for the argument tuples of handlers whose first argument is a [`Guard`].
#[diagnostic::on_unimplemented(
    message = "this handler is not annotated with `#[secure]` or `#[public]`",
    label = "the handler passed here has no security policy",
    note = "add `#[secure(auth = \"oauth\", scopes = [...])]` to require credentials, or `#[public]` to make the route deliberately open"
)]
pub trait GuardedArgs {
    /// The policy type the macro generated for the handler.
    type Policy: Policy;
}

macro_rules! impl_guarded_args {
    ($($rest:ident),*) => {
        impl<M, P: Policy, $($rest,)*> GuardedArgs for (M, Guard<P>, $($rest,)*) {
            type Policy = P;
        }
    };
}
impl_guarded_args!();
impl_guarded_args!(T1);
impl_guarded_args!(T1, T2);
impl_guarded_args!(T1, T2, T3);
impl_guarded_args!(T1, T2, T3, T4);
impl_guarded_args!(T1, T2, T3, T4, T5);
impl_guarded_args!(T1, T2, T3, T4, T5, T6);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
impl_guarded_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);

/// An axum handler annotated with `#[secure]` or `#[public]`.
// A missing annotation is reported by `GuardedArgs` (its own message); this message is shown
// only when the function is not an axum `Handler` at all, so it must not blame the annotation.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an axum handler",
    label = "axum cannot serve this function with the router's state",
    note = "the `#[secure]` / `#[public]` expansion reports the reason at the handler: a future that is not `Send`, an output that is not `IntoResponse`, a body extractor that is not the last argument, or an argument that is not an extractor",
    note = "name the router's state with `state = AppState` in the attribute to have every argument checked against it"
)]
pub trait SecureHandler<T, S>: Handler<T, S> {
    /// The handler's declared policy.
    const POLICY: RoutePolicy;
}

impl<H, T, S> SecureHandler<T, S> for H
where
    H: Handler<T, S>,
    T: GuardedArgs,
{
    const POLICY: RoutePolicy = <T::Policy as Policy>::POLICY;
}

/// One registered route and the policy it enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// The HTTP method.
    pub method: Method,
    /// The path pattern as registered (`/api/items/{id}`), with any nesting prefix.
    pub path: String,
    /// What the handler declared.
    pub policy: RoutePolicy,
}

/// Methods of one path, each bound to an annotated handler; built with [`get`], [`post`], ...
///
/// # Examples
/// ```
/// use secure_api::{public, routing::get, routing::SecureMethodRouter, Security};
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// let method_router: SecureMethodRouter<Security> = get(health);
/// ```
#[must_use]
pub struct SecureMethodRouter<S = ()> {
    inner: MethodRouter<S>,
    policies: Vec<(Method, RoutePolicy)>,
}

impl<S> std::fmt::Debug for SecureMethodRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureMethodRouter").field("policies", &self.policies).finish_non_exhaustive()
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("Routes `", stringify!($method), "` requests to an annotated handler.")]
            pub fn $name<H, T, S>(handler: H) -> SecureMethodRouter<S>
            where
                H: SecureHandler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                SecureMethodRouter {
                    inner: axum::routing::$name(handler),
                    policies: vec![(Method::$method, <H as SecureHandler<T, S>>::POLICY)],
                }
            }
        )*

        impl<S: Clone + Send + Sync + 'static> SecureMethodRouter<S> {
            $(
                #[doc = concat!("Adds a `", stringify!($method), "` handler.")]
                pub fn $name<H, T>(mut self, handler: H) -> Self
                where
                    H: SecureHandler<T, S>,
                    T: 'static,
                {
                    self.inner = self.inner.$name(handler);
                    self.policies.push((Method::$method, <H as SecureHandler<T, S>>::POLICY));
                    self
                }
            )*

            /// Applies a tower layer to these handlers only (after routing, like
            /// `MethodRouter::layer`).
            pub fn layer<L>(self, layer: L) -> Self
            where
                L: Layer<Route> + Clone + Send + Sync + 'static,
                L::Service: Service<Request<axum::body::Body>> + Clone + Send + Sync + 'static,
                <L::Service as Service<Request<axum::body::Body>>>::Response: IntoResponse + 'static,
                <L::Service as Service<Request<axum::body::Body>>>::Error: Into<Infallible> + 'static,
                <L::Service as Service<Request<axum::body::Body>>>::Future: Send + 'static,
            {
                Self { inner: self.inner.layer(layer), policies: self.policies }
            }
        }
    };
}

method_fns! {
    get => GET,
    post => POST,
    put => PUT,
    patch => PATCH,
    delete => DELETE,
}

/// An axum [`Router`] that accepts only `#[secure]` / `#[public]` handlers and records the
/// policy of every route.
///
/// Finish it with [`SecureRouter::with_state`], which returns a [`SecureApp`]: serve it, send
/// it requests, or compose it further (layers, fallback, merge, nest), always inside the
/// security layer.
///
/// # Examples
/// ```
/// use secure_api::{public, secure, routing::get, Principal, Security, SecureRouter};
///
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// #[secure(auth = "oauth", scopes = ["items:read"])]
/// async fn list_items(principal: Principal) -> String { principal.id().to_owned() }
///
/// let router = SecureRouter::new()
///     .route("/health", get(health))
///     .route("/api/items", get(list_items));
/// assert_eq!(router.routes().len(), 2);
/// let app = router.with_state(Security::builder().build());
/// assert_eq!(app.routes().len(), 2);
/// ```
///
/// A plain function is refused at compile time:
/// ```compile_fail
/// use secure_api::{routing::get, SecureRouter};
///
/// async fn forgotten() -> &'static str { "oops" }
///
/// let router: SecureRouter = SecureRouter::new().route("/", get(forgotten));
/// ```
#[must_use]
pub struct SecureRouter<S = ()> {
    /// Routes only: fallbacks are added when the app is finished, so routers stay mergeable.
    inner: Router<S>,
    /// The annotated fallback, if any.
    fallback: Option<MethodRouter<S>>,
    routes: Vec<RouteInfo>,
}

impl<S> std::fmt::Debug for SecureRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureRouter").field("routes", &self.routes).finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> Default for SecureRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> SecureRouter<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self { inner: Router::new(), fallback: None, routes: Vec::new() }
    }

    /// Adds a path with its annotated handlers.
    pub fn route(mut self, path: &str, method_router: SecureMethodRouter<S>) -> Self {
        self.routes.extend(method_router.policies.into_iter().map(|(method, policy)| RouteInfo {
            method,
            path: path.to_owned(),
            policy,
        }));
        self.inner = self.inner.route(path, method_router.inner);
        self
    }

    /// Answers requests no route matches with an annotated handler (`#[public]` or
    /// `#[secure]`) instead of the default `404` problem.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{SecureRouter, Security, public};
    ///
    /// #[public]
    /// async fn not_here() -> (http::StatusCode, &'static str) {
    ///     (http::StatusCode::NOT_FOUND, "nothing here")
    /// }
    ///
    /// let app = SecureRouter::new().fallback(not_here).with_state(Security::builder().build());
    /// ```
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: SecureHandler<T, S>,
        T: 'static,
    {
        self.fallback = Some(axum::routing::any(handler));
        self
    }

    /// Mounts another secure router under `prefix` (like `Router::nest`): its routes are
    /// recorded with the paths axum serves (`nest("/orders", ..)` of a route `/` is `/orders`),
    /// and its fallback answers the unknown paths under `prefix`.
    ///
    /// # Panics
    /// Like `Router::nest`, when `prefix` is empty or `/` (use [`SecureRouter::merge`]) or
    /// overlaps an existing route: a programming error, found at start-up.
    pub fn nest(mut self, prefix: &str, other: SecureRouter<S>) -> Self {
        self.routes.extend(
            other.routes.into_iter().map(|route| RouteInfo { path: nested_path(prefix, &route.path), ..route }),
        );
        let nested = match other.fallback {
            Some(fallback) => other.inner.fallback(fallback),
            None => other.inner,
        };
        self.inner = self.inner.nest(prefix, nested);
        self
    }

    /// Merges another secure router's routes into this one (like `Router::merge`). If both
    /// have a fallback, this router's wins (axum would panic) and a warning is logged.
    ///
    /// # Panics
    /// Like `Router::merge`, when both have the same route.
    pub fn merge(mut self, other: SecureRouter<S>) -> Self {
        self.routes.extend(other.routes);
        self.inner = self.inner.merge(other.inner);
        self.fallback = match (self.fallback, other.fallback) {
            (Some(ours), Some(_)) => {
                tracing::warn!(
                    target: "secure_api::config",
                    "both merged routers have a fallback; the one of the router `merge` was called on answers"
                );
                Some(ours)
            }
            (ours, theirs) => ours.or(theirs),
        };
        self
    }

    /// Applies a tower layer to every route registered so far and to the fallback (like
    /// `Router::layer`).
    pub fn layer<L>(self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<axum::body::Body>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Future: Send + 'static,
    {
        // The fallback too, as axum's `Router::layer` wraps its fallback: a layer the app adds
        // (a body limit, an access check) must not stop at the paths no route matches.
        let fallback = self.fallback.map(|fallback| fallback.layer(layer.clone()));
        Self { inner: self.inner.layer(layer), fallback, routes: self.routes }
    }

    /// Every registered route with its policy, in registration order.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// Supplies the state and returns the finished [`SecureApp`], which adds the 404 / 405
    /// problem fallbacks, CORS and the [`SecurityLayer`](crate::layer::SecurityLayer) (client
    /// identity, headers, audit log) around everything it serves.
    ///
    /// Routes whose schemes the [`Security`] does not configure are reported as errors in the
    /// log here, at start-up; at request time they deny (fail closed).
    pub fn with_state(self, state: S) -> SecureApp
    where
        Security: FromRef<S>,
    {
        let security = Security::from_ref(&state);
        report_unconfigured_routes(&security, &self.routes);
        // Rate limiters exist from start-up, so the inventory and tests see them.
        for route in &self.routes {
            security.rate_limits().limiter(&route.policy);
        }
        let fallback = self.fallback.map(|fallback| fallback.with_state(state.clone()));
        SecureApp::new(self.inner.with_state(state), fallback, security, self.routes)
    }
}

/// The path axum serves for `path` nested under `prefix` (axum 0.8's own rule: a nested `/`
/// is the prefix itself, no trailing slash added).
pub(crate) fn nested_path(prefix: &str, path: &str) -> String {
    if prefix.ends_with('/') {
        format!("{prefix}{}", path.trim_start_matches('/'))
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

fn report_unconfigured_routes(security: &Security, routes: &[RouteInfo]) {
    let config = security.config();
    for route in routes {
        for scheme in route.policy.auth() {
            let configured = match scheme {
                AuthScheme::Bearer => crate::auth::bearer::is_configured(&config.auth),
                AuthScheme::ApiKey => config.auth.api_keys.is_some(),
            };
            if !configured {
                tracing::error!(
                    target: "secure_api::config",
                    method = %route.method,
                    path = %route.path,
                    scheme = scheme.attribute_name(),
                    "route accepts an authentication scheme that is not configured; it will deny every request"
                );
            }
        }
    }
}
