//! The extractor `#[secure]` inserts as a handler's first argument: it runs steps 2 to 5 of
//! the [pipeline](crate::pipeline) before any other extractor, so no body is read for a
//! rejected caller.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

use crate::auth::{scheme, scope, step_up};
use crate::context::RequestContext;
use crate::policy::Policy;
use crate::problem::Problem;
use crate::rate::{self, Caller};
use crate::state::Security;

/// Enforces the policy `P` for one request: the gateway checks, authentication, the rate
/// limit, then the scopes ([pipeline](crate::pipeline) steps 2 to 5).
/// On success the [`Principal`](crate::Principal) is stored for the handler and the audit line.
/// (A route's object-level check runs later, in
/// [`Authorize`](crate::auth::authorize::Authorize), once the path is validated.)
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
        // The client, the request id and the notes for the response, from step 1; without the
        // security layer this is the 500 of a misconfigured server (see the pipeline).
        let context = RequestContext::of(parts)?;
        let policy = &P::POLICY;
        let security = Security::from_ref(state);
        // Step 2, before authentication: IP lists and threat detection.
        crate::gateway::check_route(&security, policy, parts, context)?;
        if policy.is_public() {
            // A `#[public]` route may still be rate limited (by client IP or a header).
            limit(&security, policy, parts, context, Caller::Anonymous).await?;
            return Ok(Self(PhantomData));
        }
        let config = security.config();
        let principal = match scheme::authenticate(&config.auth, policy, parts).await {
            Ok(Some(principal)) => principal,
            // Optional authentication and no credentials: the handler gets `None`, and the
            // anonymous caller is limited by client IP like on a public route.
            Ok(None) => {
                limit(&security, policy, parts, context, Caller::Anonymous).await?;
                return Ok(Self(PhantomData));
            }
            // Failed attempts count against the client IP on this route (step 4 for them).
            Err(problem) => {
                limit(&security, policy, parts, context, Caller::FailedAuthentication).await?;
                return Err(problem);
            }
        };
        // In the request context (for the handler and the audit line) as soon as it is known,
        // so even a rate-limited or forbidden request's audit line names its caller.
        context.set_principal(&principal);
        limit(&security, policy, parts, context, Caller::Authenticated(&principal)).await?;
        // Step-up authentication (RFC 9470) before the scopes: a token too weak or too old for
        // the route is a 401 the client can fix by re-authenticating, whatever its scopes.
        step_up::require(&config.auth, policy, &principal, &parts.headers)?;
        scope::require_scopes(&config.auth, &principal, policy.scopes(), || {
            crate::auth::scheme::presented_dpop(&parts.headers)
        })?;
        // The object-level check (`authorize = ...`) is not run here: it needs the validated
        // path parameters, so it is its own extractor, `Authorize<P>`, after them.
        Ok(Self(PhantomData))
    }
}

/// Step 4 with the app's limits and API-key header ([`rate::limit`] takes only those, so `rate`
/// does not depend on the state).
fn limit<'a>(
    security: &Security,
    policy: &crate::policy::RoutePolicy,
    parts: &Parts,
    context: &'a RequestContext,
    caller: Caller<'_>,
) -> impl Future<Output = Result<(), Problem>> + Send + 'a {
    rate::limit(security.rate_limits(), &security.config().auth.realm.api_key_header, policy, parts, context, caller)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthScheme;
    use crate::policy::RoutePolicy;
    use crate::principal::Principal;
    use crate::rate::RateSpec;

    struct Open;
    impl Policy for Open {
        const POLICY: RoutePolicy = RoutePolicy::public("tests::open");
    }

    /// Every request's future is moved (copied) several times on its way through axum, so its
    /// size is a per-request cost: the slow paths (Redis, key-set refresh, introspection) are
    /// boxed, and these futures stay a few hundred bytes instead of 1.5 KB.
    #[test]
    fn request_path_futures_stay_small() {
        let security = Security::builder().build();
        let mut parts = http::Request::new(()).into_parts().0;
        let request = parts.clone();
        const LIMITED: RoutePolicy = RoutePolicy::public("tests::limited").with_rate(RateSpec::new(1, 60));
        let context = RequestContext::new(
            crate::client::ClientIdentity { ip: std::net::Ipv4Addr::LOCALHOST.into(), https: false },
            crate::request_id::RequestId::generate(),
        );
        let principal = Principal::new("alice", ["read"], AuthScheme::Bearer);

        let authenticate = scheme::authenticate(&security.config().auth, &Open::POLICY, &request);
        // 256 before DPoP; its proof check is boxed, the scheme and the parts it reads are not.
        assert!(size_of_val(&authenticate) <= 288, "authenticate: {}", size_of_val(&authenticate));
        let enforce = limit(&security, &LIMITED, &parts, &context, Caller::Authenticated(&principal));
        assert!(size_of_val(&enforce) <= 320, "enforce: {}", size_of_val(&enforce));
        drop((authenticate, enforce));
        let guard = <Guard<Open> as FromRequestParts<Security>>::from_request_parts(&mut parts, &security);
        assert!(size_of_val(&guard) <= 512, "guard: {}", size_of_val(&guard));
    }
}
