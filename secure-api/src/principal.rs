//! The authenticated caller, as handed to handlers.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::StatusCode;
use http::request::Parts;
use serde_json::{Map, Value};

use crate::Problem;
use crate::auth::AuthScheme;
use crate::context::RequestContext;

/// The authenticated caller of a `#[secure]` route: who it is, what it may do, how it proved it.
///
/// Take it as a handler argument; the `#[secure]` guard has already authenticated and
/// authorized the caller when the handler runs.
///
/// # Examples
/// ```
/// use secure_api::{secure, Principal};
///
/// #[secure(auth = "oauth", scopes = ["items:read"])]
/// async fn whoami(principal: Principal) -> String {
///     format!("{} may {:?}", principal.id(), principal.scopes())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Principal {
    // Shared, not owned: the verified-token cache hands out a clone of the same principal on
    // every request, and cloning these is a reference count, not three allocations.
    id: Arc<str>,
    scopes: Arc<[String]>,
    method: AuthScheme,
    claims: Arc<Map<String, Value>>,
}

impl Principal {
    /// A principal with no token claims (API keys, tests).
    pub fn new(id: impl Into<String>, scopes: impl IntoIterator<Item = impl Into<String>>, method: AuthScheme) -> Self {
        let id: String = id.into();
        Self { id: id.into(), scopes: scopes.into_iter().map(Into::into).collect(), method, claims: Arc::default() }
    }

    /// A principal carrying the verified claims of its access token.
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Arc::new(claims);
        self
    }

    /// The stable identifier: the token's `sub` (or `client_id`), or the API key's owner.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id, shared (for the audit line).
    pub(crate) fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// The scopes granted to this caller.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }

    /// How the caller authenticated.
    pub fn method(&self) -> AuthScheme {
        self.method
    }

    /// The verified token's claims (empty for API keys).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

/// The principal the guard authenticated: in the request context under the security layer, in
/// the extensions without it.
fn principal_of(parts: &Parts) -> Option<Principal> {
    match RequestContext::of(parts) {
        Some(context) => context.principal().cloned(),
        None => parts.extensions.get::<Principal>().cloned(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_of(parts).ok_or_else(|| {
            // Only reachable when a handler takes `Principal` on a route that authenticates nobody,
            // which the macro forbids; fail closed rather than invent a caller.
            tracing::error!("a handler asked for the Principal but the route authenticated no one");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal Server Error")
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(principal_of(parts))
    }
}
