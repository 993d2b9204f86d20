//! The extractor `#[secure]` inserts as a handler's first argument: it runs the pipeline's
//! steps before any other extractor, so no body is read for a rejected caller.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

use crate::audit::AuditSlot;
use crate::auth::{authorize, scheme, scope};
use crate::policy::Policy;
use crate::problem::Problem;
use crate::state::Security;

/// Enforces the policy `P` for one request: authentication, then authorization (scopes, then
/// the object-level check when the route has one). On success the
/// [`Principal`](crate::Principal) is stored for the handler and the audit line.
///
/// Not written by hand: `#[secure]` and `#[public]` insert it. Its type also marks the handler
/// as annotated, which is what lets [`SecureRouter`](crate::SecureRouter) accept it.
pub struct Guard<P>(PhantomData<fn() -> P>);

impl<P> std::fmt::Debug for Guard<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

impl<S, P> FromRequestParts<S> for Guard<P>
where
    P: Policy,
    Security: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let policy = &P::POLICY;
        let security = Security::from_ref(state);
        // Step 2, before authentication: IP lists and threat detection.
        crate::gateway::check_route(&security, policy, parts)?;
        if policy.is_public() {
            return Ok(Self(PhantomData));
        }
        let config = security.config();
        let Some(principal) = scheme::authenticate(config, policy, &parts.headers).await? else {
            // Optional authentication and no credentials: the handler gets `None`.
            return Ok(Self(PhantomData));
        };
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set_principal(principal.id());
        }
        scope::require_scopes(config, &principal, policy.scopes())?;
        if let Some(check) = P::AUTHORIZE {
            authorize::enforce(check, policy.handler(), &principal, parts).await?;
        }
        parts.extensions.insert(principal);
        Ok(Self(PhantomData))
    }
}
