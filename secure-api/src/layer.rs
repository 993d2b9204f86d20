//! The layer around the whole router: client identity, security headers, and the audit line.
//!
//! [`SecureRouter::with_state`](crate::SecureRouter::with_state) applies it, so every response
//! of the app, including 404s and rejections, gets the headers and one audit line.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Method, Request, Uri};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{AuditRecord, Outcome};
use crate::client::ClientIdentity;
use crate::context::RequestContext;
use crate::ip_rules::ip_denied;
use crate::principal::Principal;
use crate::request_id::{REQUEST_ID, RequestId};
use crate::state::Security;

/// Marks a request that arrived over a TLS connection (inserted by [`crate::serve`]'s TLS
/// acceptor); the layer then treats it as HTTPS.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsConnection;

/// Resolves the [`ClientIdentity`], adds [`SecurityHeaders`](crate::SecurityHeaders) and writes
/// one audit line per request.
///
/// # Examples
/// ```
/// use secure_api::{Security, SecurityLayer};
/// use axum::{Router, routing::get};
///
/// let security = Security::builder().build();
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(SecurityLayer::new(security));
/// ```
#[derive(Clone, Debug)]
pub struct SecurityLayer {
    security: Security,
}

impl SecurityLayer {
    /// A layer using `security`'s trusted proxies and headers.
    pub fn new(security: Security) -> Self {
        Self { security }
    }
}

impl<S> Layer<S> for SecurityLayer {
    type Service = SecurityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityService { inner, security: self.security.clone() }
    }
}

/// The service made by [`SecurityLayer`].
#[derive(Clone, Debug)]
pub struct SecurityService<S> {
    inner: S,
    security: Security,
}

impl<S, B> Service<Request<B>> for SecurityService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = SecurityFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let time = SystemTime::now();
        let config = self.security.config();
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let tls = request.extensions().get::<TlsConnection>().is_some();
        let client = ClientIdentity::resolve(peer, request.headers(), self.security.trusted_proxies(), tls);
        let keep_request_id = self.security.trusted_proxies().request_id_from(peer);
        let context = RequestContext::new(client, RequestId::resolve(request.headers(), keep_request_id));
        request.extensions_mut().insert(context.clone());
        let audit = PendingAudit {
            started,
            time,
            method: request.method().clone(),
            // The `Uri` and the matched route share their bytes with the request: no copies.
            uri: request.uri().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            // The path only, unless the operator asked for the query (secrets redacted).
            query: config.audit.logs_query().then(|| config.audit.redact_query(request.uri().query().unwrap_or(""))),
            headers: config.audit.logs_headers().then(|| config.audit.redact_headers(request.headers())),
            context,
            security: self.security.clone(),
        };

        // An oversized request head and a client refused by the app-wide IP rules reach no
        // route at all.
        let step = if let Err(problem) = config.request_limits.check(request.uri(), request.headers()) {
            Step::Refused { problem }
        } else if config.ip_rules.allows(client.ip) {
            // `poll_ready` made the inner service ready for exactly this call.
            Step::Inner { future: self.inner.call(request) }
        } else {
            tracing::info!(target: "secure_api::gateway", client_ip = %client.ip, "client address refused by the app's IP rules");
            Step::Refused { problem: ip_denied() }
        };
        SecurityFuture { step, audit: Some(audit) }
    }
}

pin_project! {
    /// The response future of [`SecurityService`]: the inner service's response with the
    /// security headers added and the audit line written.
    pub struct SecurityFuture<F> {
        #[pin]
        step: Step<F>,
        audit: Option<PendingAudit>,
    }
}

pin_project! {
    #[project = StepProjection]
    enum Step<F> {
        Inner { #[pin] future: F },
        Refused { problem: crate::problem::Problem },
    }
}

impl<F> std::fmt::Debug for SecurityFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityFuture").finish_non_exhaustive()
    }
}

impl<F> Future for SecurityFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.step.project() {
            StepProjection::Inner { future } => match future.poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => return Poll::Pending,
            },
            StepProjection::Refused { problem } => problem.clone().into_response(),
        };
        // `None` only if polled again after completion, which futures need not support.
        if let Some(audit) = this.audit.take() {
            audit.finish(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// What the audit line and the response headers need, kept from the request.
struct PendingAudit {
    started: Instant,
    time: SystemTime,
    method: Method,
    uri: Uri,
    route: Option<MatchedPath>,
    query: Option<String>,
    headers: Option<String>,
    context: RequestContext,
    security: Security,
}

impl PendingAudit {
    /// Adds the security, rate-limit and request-id headers, then writes the audit line.
    fn finish(self, response: &mut Response) {
        let context = &self.context;
        let client = context.client();
        let config = self.security.config();
        let status = response.status();
        // A copy of the ready-made security headers, the RateLimit fields, then the handler's
        // own headers moved in (they win, except the ones the layer refuses); the request id
        // last, so it is always the layer's.
        let mut headers = config.headers.start(client.https);
        context.rate().add_to(&mut headers, status);
        config.headers.merge_response(std::mem::take(response.headers_mut()), &mut headers, client.https);
        headers.insert(REQUEST_ID, context.request_id().header_value().clone());
        *response.headers_mut() = headers;
        let outcome = response.extensions().get::<Outcome>().copied().unwrap_or_else(|| Outcome::from_status(status));
        let route = self.route.as_ref().map(MatchedPath::as_str);
        let latency = self.started.elapsed();
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &config.metrics {
            metrics.record(route, &self.method, status, outcome, latency);
        }
        AuditRecord {
            time: self.time,
            request_id: context.request_id().as_str(),
            method: &self.method,
            route,
            path: self.uri.path(),
            status,
            latency,
            client_ip: client.ip,
            https: client.https,
            principal: context.principal().map(Principal::id),
            outcome,
            threat: context.threat_rule(),
            query: self.query.as_deref(),
            headers: self.headers.as_deref(),
        }
        .emit(&config.audit);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIdentity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestContext::of(parts).map(RequestContext::client).unwrap_or_else(|| {
            // Without the layer no proxy is trusted: the peer is the client.
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
            ClientIdentity::resolve(peer, &parts.headers, &Default::default(), false)
        }))
    }
}
