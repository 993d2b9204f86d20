//! What the [`SecurityLayer`](crate::layer::SecurityLayer) learns about a request and what the
//! pipeline's steps leave behind for the response and the audit line, in one place.
//!
//! The layer inserts one [`RequestContext`] into the request's extensions; the guard, the rate
//! limiter and threat detection write into it; after the response the layer reads it back. One
//! reference-counted allocation and one extension per request: inserting each note as its own
//! extension, each behind its own `Arc`, cost several allocations on every request.
//!
//! Every reader finds it through [`RequestContext::of`], which has the one answer for a request
//! the layer did not see (see the [pipeline](crate::pipeline)): refuse with 500 and tell the
//! operator. The extractors that hand its notes to handlers ([`Principal`], [`RequestId`],
//! [`ClientIdentity`]) are here too, so the types they return need not know about the context.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::StatusCode;
use http::request::Parts;

use crate::client::ClientIdentity;
use crate::principal::Principal;
use crate::problem::Problem;
use crate::rate::RateSlot;
use crate::request_id::RequestId;

/// The per-request notes, shared by the layer and the extractors (cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct RequestContext(Arc<Notes>);

#[derive(Debug)]
struct Notes {
    client: ClientIdentity,
    request_id: RequestId,
    /// The authenticated principal, for the handler and the audit line (the first one set wins).
    principal: OnceLock<Principal>,
    /// The route's rate-limit headers, for the response.
    rate: RateSlot,
    /// A threat rule that matched in log-only mode, for the audit line.
    threat_rule: OnceLock<&'static str>,
    /// A fresh DPoP server nonce for the response, when the request's proof carried one about
    /// to expire (RFC 9449 §8.2, §9).
    dpop_nonce: OnceLock<http::HeaderValue>,
}

impl RequestContext {
    /// A context for a request from `client`, identified by `request_id`.
    pub(crate) fn new(client: ClientIdentity, request_id: RequestId) -> Self {
        Self(Arc::new(Notes {
            client,
            request_id,
            principal: OnceLock::new(),
            rate: RateSlot::default(),
            threat_rule: OnceLock::new(),
            dpop_nonce: OnceLock::new(),
        }))
    }

    /// The context the layer inserted: the one way every step after the first finds it.
    ///
    /// Without it the request did not go through the [`SecurityLayer`](crate::layer::SecurityLayer)
    /// (a guarded handler routed on a hand-built `axum::Router`): there is no resolved client
    /// (every caller would be one rate-limit bucket), no security headers and no audit line. No
    /// reader guesses a client instead: `Err` is the 500 problem to send, and the operator is
    /// told what to do, at most once a minute.
    pub(crate) fn of(parts: &Parts) -> Result<&Self, Problem> {
        parts.extensions.get::<Self>().ok_or_else(outside_the_layer)
    }

    pub(crate) fn client(&self) -> ClientIdentity {
        self.0.client
    }

    pub(crate) fn request_id(&self) -> &RequestId {
        &self.0.request_id
    }

    /// Records the authenticated principal (a clone is a few reference counts).
    pub(crate) fn set_principal(&self, principal: &Principal) {
        let _ = self.0.principal.set(principal.clone());
    }

    pub(crate) fn principal(&self) -> Option<&Principal> {
        self.0.principal.get()
    }

    pub(crate) fn rate(&self) -> &RateSlot {
        &self.0.rate
    }

    pub(crate) fn set_threat_rule(&self, rule: &'static str) {
        let _ = self.0.threat_rule.set(rule);
    }

    pub(crate) fn threat_rule(&self) -> Option<&'static str> {
        self.0.threat_rule.get().copied()
    }

    pub(crate) fn set_dpop_nonce(&self, nonce: http::HeaderValue) {
        let _ = self.0.dpop_nonce.set(nonce);
    }

    pub(crate) fn dpop_nonce(&self) -> Option<&http::HeaderValue> {
        self.0.dpop_nonce.get()
    }
}

/// The answer to a request the server cannot serve safely because of how it was set up (the
/// operator's error, not the client's): a generic 500, no detail of what is missing.
pub(crate) fn server_misconfigured() -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "server-misconfigured", "Internal Server Error")
        .with_detail("The server is misconfigured and cannot serve this request.")
}

/// An operator error logged at most once a minute, rather than once per request (seconds since
/// the epoch of the last report; 0: never reported).
pub(crate) struct OncePerMinute(AtomicU64);

impl OncePerMinute {
    const EVERY: Duration = Duration::from_secs(60);

    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Whether to log now; `true` for one caller a minute.
    pub(crate) fn due(&self) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0);
        let last = self.0.load(Ordering::Relaxed);
        report_due(last, now) && self.0.compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

/// Whether a report last made at `last` is due again at `now` (`last` = 0: never reported).
fn report_due(last: u64, now: u64) -> bool {
    last == 0 || now.saturating_sub(last) >= OncePerMinute::EVERY.as_secs()
}

static OUTSIDE_LAYER_REPORTED: OncePerMinute = OncePerMinute::new();

/// [`RequestContext::of`]'s answer without a context.
fn outside_the_layer() -> Problem {
    if OUTSIDE_LAYER_REPORTED.due() {
        tracing::error!(
            target: "secure_api::serve",
            "a `#[secure]`/`#[public]` handler or one of its extractors was called outside the security layer and \
             refused with 500: route it with `SecureRouter` and serve the `SecureApp` that `with_state` returns"
        );
    }
    server_misconfigured()
}

/// The principal the guard authenticated. The macro lets a handler take `Principal` only on a
/// route that authenticates, so a context without one means the route authenticated no one:
/// fail closed rather than invent a caller.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        RequestContext::of(parts)?.principal().cloned().ok_or_else(|| {
            tracing::error!("a handler asked for the Principal but the route authenticated no one");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal Server Error")
        })
    }
}

/// `Option<Principal>`, for `auth_optional` routes: `None` for an anonymous caller.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(RequestContext::of(parts)?.principal().cloned())
    }
}

/// The id the layer gave the request (and echoes in the response and the audit line).
impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestContext::of(parts)?.request_id().clone())
    }
}

/// The client the layer resolved (through the trusted proxies only).
impl<S: Send + Sync> FromRequestParts<S> for ClientIdentity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestContext::of(parts)?.client())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::auth::AuthScheme;

    fn context() -> RequestContext {
        let client = ClientIdentity { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), https: true };
        RequestContext::new(client, RequestId::generate())
    }

    #[test]
    fn the_first_principal_and_rule_win() {
        let context = context();
        assert!(context.principal().is_none() && context.threat_rule().is_none());
        context.set_principal(&Principal::new("alice", ["a"], AuthScheme::Bearer));
        context.set_principal(&Principal::new("mallory", ["b"], AuthScheme::ApiKey));
        context.set_threat_rule("xss-script-tag");
        context.set_threat_rule("sqli-tautology");
        assert_eq!(context.principal().map(Principal::id), Some("alice"));
        assert_eq!(context.threat_rule(), Some("xss-script-tag"));
    }

    #[test]
    fn clones_share_the_notes() {
        let context = context();
        let mut parts = http::Request::new(()).into_parts().0;
        parts.extensions.insert(context.clone());
        RequestContext::of(&parts).unwrap().set_principal(&Principal::new("bob", ["c"], AuthScheme::Bearer));
        assert_eq!(context.principal().map(Principal::id), Some("bob"));
        assert_eq!(RequestContext::of(&parts).unwrap().client().ip.to_string(), "192.0.2.7");
        assert_eq!(RequestContext::of(&parts).unwrap().request_id(), context.request_id());
    }

    #[test]
    fn without_the_layer_every_reader_gets_the_same_500() {
        let parts = http::Request::new(()).into_parts().0;
        let problem = RequestContext::of(&parts).unwrap_err();
        assert_eq!(problem.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem.body()["type"], server_misconfigured().body()["type"]);
    }

    #[test]
    fn an_operator_error_is_logged_at_most_once_a_minute() {
        assert!(report_due(0, 1_000));
        assert!(!report_due(1_000, 1_000));
        assert!(!report_due(1_000, 1_059));
        assert!(report_due(1_000, 1_060));
        let reports = OncePerMinute::new();
        assert!(reports.due());
        assert!(!reports.due());
    }
}
