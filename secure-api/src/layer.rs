//! The layer around the whole router: client identity, security headers, and the audit line.
//!
//! A [`SecureApp`](crate::SecureApp) applies it around everything it serves, so every response
//! of the app, including 404s, rejections and the answers of other layers, gets the headers and
//! one audit line, and an error without a body becomes problem+json.
//!
//! With a [`PenaltyBox`](crate::rate::PenaltyBox) configured, a banned client address is
//! refused here, before routing (429 `denied:banned`), and every response's outcome is counted
//! against its address.
//!
//! With an [`AuditLog`](crate::audit::AuditLog) whose sink is not keeping up (more than its
//! `max_queued_bytes` waiting), new requests are refused here with `503`
//! (`denied:audit_unavailable`) before they reach a handler: nothing runs without its line, and
//! no request thread waits for the sink.
//!
//! It fails closed on a request without a peer address: serving the app without recording the
//! peer would make every client one shared identity (one client's failures would rate-limit
//! everyone), so such a request is refused with `500` and the operator is told why.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::extract::{ConnectInfo, MatchedPath};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{AuditRecord, Outcome};
use crate::client::ClientIdentity;
use crate::context::{OncePerMinute, RequestContext, server_misconfigured};
use crate::ip_rules::ip_denied;
use crate::principal::Principal;
use crate::problem::{PROBLEM_JSON, Problem};
use crate::request_id::{REQUEST_ID, RequestId};
use crate::state::Security;

/// Marks a request that arrived over a TLS connection (inserted by [`crate::serve()`]'s TLS
/// acceptor); the layer then treats it as HTTPS.
#[derive(Clone, Copy, Debug, Default)]
pub struct TlsConnection;

/// Resolves the [`ClientIdentity`], adds [`SecurityHeaders`](crate::headers::SecurityHeaders) and writes
/// one audit line per request.
///
/// # Examples
/// ```
/// use secure_api::{Security, layer::SecurityLayer};
/// use axum::{Router, routing::get};
///
/// let security = Security::builder().build();
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(SecurityLayer::new(security));
/// ```
///
/// Prefer [`SecureRouter::with_state`](crate::SecureRouter::with_state), which applies it for
/// you around every route, fallback and layer. Requests must carry the peer address
/// (`ConnectInfo<SocketAddr>`, as [`crate::serve()`] and `axum::serve` of a
/// [`SecureApp`](crate::SecureApp) insert); without it the layer answers `500`.
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
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
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
        if peer.is_none() {
            report_missing_peer();
        }
        let tls = request.extensions().get::<TlsConnection>().is_some();
        // From a trusted proxy, the connection's certificate is the proxy's own (a proxy that
        // talks mTLS to the app), never a client's: dropped, whether or not the proxy forwards
        // the client's certificate in a header (then that one is the client's).
        let trusted = self.security.trusted_proxies();
        if peer.is_some_and(|peer| trusted.contains(peer)) {
            let forwarded = trusted
                .client_cert_header()
                .and_then(|header| crate::auth::mtls::from_proxy_header(request.headers(), header));
            request.extensions_mut().remove::<crate::auth::ClientCertificate>();
            if let Some(certificate) = forwarded {
                request.extensions_mut().insert(certificate);
            }
        }
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

        // No peer address: the client is unknown, and treating it as one shared address would
        // let one client's failures limit every other one. An oversized request head and a
        // client refused by the app-wide IP rules reach no route at all either.
        let step = if peer.is_none() {
            Step::Refused { problem: server_misconfigured() }
        } else if config.audit.log().is_some_and(crate::audit::AuditLog::is_backed_up) {
            report_audit_backed_up();
            Step::Refused { problem: audit_unavailable() }
        } else if let Err(problem) = config.request_limits.check(request.uri(), request.headers()) {
            Step::Refused { problem }
        } else if !config.ip_rules.allows(client.ip) {
            tracing::info!(target: "secure_api::gateway", client_ip = %client.ip, "client address refused by the app's IP rules");
            Step::Refused { problem: ip_denied() }
        } else if let Some(penalty) =
            config.penalty_box.as_ref().filter(|penalty| !penalty.exempt(client.ip, self.security.trusted_proxies()))
        {
            // Refused before routing while banned, counted after: the service made ready by
            // `poll_ready` goes into the future, a clone stays for the next call.
            let fresh = self.inner.clone();
            let ready = std::mem::replace(&mut self.inner, fresh);
            Step::Penalized { future: Box::pin(crate::rate::penalty_guard(penalty.clone(), client.ip, ready, request)) }
        } else {
            // `poll_ready` made the inner service ready for exactly this call.
            Step::Inner { future: self.inner.call(request) }
        };
        SecurityFuture { step, audit: Some(audit) }
    }
}

pin_project! {
    /// The response future of [`SecurityService`]: the inner service's response with the
    /// security headers added and the audit line written. Dropped before it answers (the
    /// client went away, or the handler panicked), it still writes the request's line: status
    /// 499 and outcome `cancelled`, or 500 and `error` for a panic.
    pub struct SecurityFuture<F> {
        #[pin]
        step: Step<F>,
        audit: Option<PendingAudit>,
    }

    impl<F> PinnedDrop for SecurityFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(audit) = this.project().audit.take() {
                audit.abandon();
            }
        }
    }
}

pin_project! {
    #[project = StepProjection]
    enum Step<F> {
        Inner { #[pin] future: F },
        Refused { problem: crate::problem::Problem },
        Penalized { future: Pin<Box<dyn Future<Output = Response> + Send>> },
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
            StepProjection::Penalized { future } => match future.as_mut().poll(cx) {
                Poll::Ready(response) => response,
                Poll::Pending => return Poll::Pending,
            },
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
        problem_for_bare_error(response);
        // A copy of the ready-made security headers, the RateLimit fields, then the handler's
        // own headers moved in (they win, except the ones the layer refuses); the request id
        // last, so it is always the layer's.
        let mut headers = config.headers.start(client.https);
        context.rate().add_to(&mut headers, status);
        config.headers.merge_response(std::mem::take(response.headers_mut()), &mut headers, client.https);
        headers.insert(REQUEST_ID, context.request_id().header_value().clone());
        if let Some(nonce) = context.dpop_nonce() {
            headers.insert(crate::auth::dpop::request::DPOP_NONCE, nonce.clone());
        }
        *response.headers_mut() = headers;
        let outcome = response.extensions().get::<Outcome>().copied().unwrap_or_else(|| Outcome::from_status(status));
        self.record(status, outcome);
    }

    /// The request ended without a response: its future was dropped because the client went
    /// away (a stream reset, a closed connection: 499 `cancelled`), or while a panic unwinds
    /// through it (500 `error`). Either way the request has its line: the handler may have run.
    fn abandon(self) {
        let (status, outcome) = if std::thread::panicking() {
            (StatusCode::INTERNAL_SERVER_ERROR, Outcome::ERROR)
        } else {
            (StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST), Outcome::CANCELLED)
        };
        self.record(status, outcome);
    }

    /// Writes the audit line (and counts the response, with metrics on).
    fn record(self, status: StatusCode, outcome: Outcome) {
        let context = &self.context;
        let client = context.client();
        let config = self.security.config();
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

static MISSING_PEER_REPORTED: OncePerMinute = OncePerMinute::new();

fn report_missing_peer() {
    if MISSING_PEER_REPORTED.due() {
        tracing::error!(
            target: "secure_api::serve",
            "request without a peer address refused with 500: serve the app with `axum::serve(listener, app)` on the \
             `SecureApp`, `secure_api::serve`, or `secure_api::tls::serve_tls` (or insert `ConnectInfo<SocketAddr>` into \
             each request); without it every client would share one identity and one rate-limit bucket"
        );
    }
}

static AUDIT_BACKED_UP_REPORTED: OncePerMinute = OncePerMinute::new();

fn report_audit_backed_up() {
    if AUDIT_BACKED_UP_REPORTED.due() {
        tracing::error!(
            target: "secure_api::audit",
            "the audit log's sink is not keeping up (a full disk, a stalled pipe or reader); new requests are \
             refused with 503 until it takes lines again"
        );
    }
}

/// The audit log cannot take this request's line now: `503` before any handler runs.
fn audit_unavailable() -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable", "Service Unavailable")
        .with_detail("The server cannot record requests right now. Try again shortly.")
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .with_outcome(Outcome::DENIED_AUDIT_UNAVAILABLE)
}

/// An error response without a content type (a `TimeoutLayer`'s `408`, a limit layer's `413`,
/// a handler's bare `StatusCode`) gets a problem+json body for its status, so every error the
/// app sends has the one envelope. Headers the response set (`Retry-After`, ...) stay.
fn problem_for_bare_error(response: &mut Response) {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return;
    }
    let title = status.canonical_reason().unwrap_or("Error");
    let body = Problem::new(status, problem_slug(status), title).body().to_string();
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    *response.body_mut() = axum::body::Body::from(body);
}

/// The problem type of a status the app's own rejections use, so a layer's `413` has the same
/// `type` as the validation's.
fn problem_slug(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "request-timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation",
        StatusCode::TOO_MANY_REQUESTS => "rate-limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        status if status.is_server_error() => "server-error",
        _ => "client-error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_error_gets_a_problem_body_and_keeps_its_status_and_headers() {
        let mut response = (StatusCode::REQUEST_TIMEOUT, [(header::RETRY_AFTER, "1")]).into_response();
        problem_for_bare_error(&mut response);
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn responses_with_a_content_type_or_a_success_status_are_left_alone() {
        let mut typed = (StatusCode::NOT_FOUND, "custom").into_response();
        problem_for_bare_error(&mut typed);
        assert_eq!(typed.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let mut empty_ok = StatusCode::NO_CONTENT.into_response();
        problem_for_bare_error(&mut empty_ok);
        assert!(!empty_ok.headers().contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn a_layer_error_has_the_same_problem_type_as_our_own() {
        assert_eq!(problem_slug(StatusCode::PAYLOAD_TOO_LARGE), "body-too-large");
        assert_eq!(problem_slug(StatusCode::IM_A_TEAPOT), "client-error");
        assert_eq!(problem_slug(StatusCode::BAD_GATEWAY), "server-error");
    }
}
