//! What the [`SecurityLayer`](crate::layer::SecurityLayer) learns about a request and what the
//! pipeline's steps leave behind for the response and the audit line, in one place.
//!
//! The layer inserts one [`RequestContext`] into the request's extensions; the guard, the rate
//! limiter and threat detection write into it; after the response the layer reads it back. One
//! reference-counted allocation and one extension per request: inserting each note as its own
//! extension, each behind its own `Arc`, cost several allocations on every request.

use std::sync::{Arc, OnceLock};

use http::request::Parts;

use crate::client::ClientIdentity;
use crate::principal::Principal;
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
        }))
    }

    /// The context the layer inserted, if the request went through it.
    pub(crate) fn of(parts: &Parts) -> Option<&Self> {
        parts.extensions.get::<Self>()
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
}
