//! The layer around the whole router: client identity, security headers, and the audit line.
//!
//! [`SecureRouter::with_state`](crate::SecureRouter::with_state) applies it, so every response
//! of the app, including 404s and rejections, gets the headers and one audit line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{HeaderValue, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{AuditRecord, AuditSlot, Outcome};
use crate::client::ClientIdentity;
use crate::ip_rules::ip_denied;
use crate::rate::RateSlot;
use crate::request_id::{REQUEST_ID_HEADER, RequestId};
use crate::state::Security;
use crate::threat::ThreatNote;

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
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

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
        let from_trusted_proxy = peer.is_some_and(|peer| self.security.trusted_proxies().contains(peer));
        let request_id = RequestId::resolve(request.headers(), from_trusted_proxy);
        let slot = AuditSlot::default();
        let threat_note = ThreatNote::default();
        request.extensions_mut().insert(client);
        request.extensions_mut().insert(slot.clone());
        request.extensions_mut().insert(request_id.clone());
        request.extensions_mut().insert(threat_note.clone());
        let rate_slot = RateSlot::default();
        request.extensions_mut().insert(rate_slot.clone());
        let method = request.method().clone();
        // The path only, unless the operator asked for the query (secrets redacted).
        let path = request.uri().path().to_owned();
        let route = request.extensions().get::<MatchedPath>().map(|matched| matched.as_str().to_owned());
        let query = config.audit.logs_query().then(|| config.audit.redact_query(request.uri().query().unwrap_or("")));
        let logged_headers = config.audit.logs_headers().then(|| config.audit.redact_headers(request.headers()));

        // App-wide IP rules: a refused client reaches no route at all.
        let refused = !config.ip_rules.allows(client.ip);
        if refused {
            tracing::info!(target: "secure_api::gateway", client_ip = %client.ip, "client address refused by the app's IP rules");
        }

        // The clone-and-swap of tower's docs: the service that was polled ready handles this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let security = self.security.clone();
        Box::pin(async move {
            let mut response = if refused {
                ip_denied().into_response()
            } else {
                let Ok(response) = inner.call(request).await;
                response
            };
            rate_slot.apply(&mut response);
            security.config().headers.apply(response.headers_mut(), client.https);
            if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let status = response.status();
            let outcome =
                response.extensions().get::<Outcome>().copied().unwrap_or_else(|| Outcome::from_status(status));
            AuditRecord {
                time,
                request_id: request_id.as_str(),
                method: &method,
                route: route.as_deref(),
                path: &path,
                status,
                latency: started.elapsed(),
                client_ip: client.ip,
                https: client.https,
                principal: slot.principal(),
                outcome,
                threat: threat_note.rule(),
                query: query.as_deref(),
                headers: logged_headers.as_deref(),
            }
            .emit();
            Ok(response)
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIdentity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ClientIdentity>().copied().unwrap_or_else(|| {
            // Without the layer no proxy is trusted: the peer is the client.
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
            ClientIdentity::resolve(peer, &parts.headers, &Default::default(), false)
        }))
    }
}
