//! The extractor `#[secure]` inserts as a handler's first argument: it runs the pipeline's
//! steps before any other extractor, so no body is read for a rejected caller.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

use crate::auth::{scheme, scope};
use crate::context::RequestContext;
use crate::policy::Policy;
use crate::problem::Problem;
use crate::state::Security;

/// Enforces the policy `P` for one request: authentication, the rate limit, then the scopes.
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
        // The security layer resolves the client and writes the headers and the audit line; a
        // guarded handler reached without it (a hand-built `axum::Router`) would run without
        // them and count every caller as one client. Fail closed.
        let Some(context) = RequestContext::of(parts).cloned() else {
            return Err(crate::layer::guarded_handler_outside_the_layer());
        };
        let policy = &P::POLICY;
        let security = Security::from_ref(state);
        // Step 2, before authentication: IP lists and threat detection.
        crate::gateway::check_route(&security, policy, parts)?;
        if policy.is_public() {
            // A `#[public]` route may still be rate limited (by client IP or a header).
            if policy.rate().is_some()
                && let Some(limiter) = security.rate_limits().limiter(policy)
            {
                limiter.enforce_public(parts, &security).await?;
            }
            return Ok(Self(PhantomData));
        }
        let config = security.config();
        let limiter = security.rate_limits().limiter(policy);
        let principal = match scheme::authenticate(&config.auth, policy, parts).await {
            Ok(Some(principal)) => principal,
            // Optional authentication and no credentials: the handler gets `None`, and the
            // anonymous caller is limited by client IP like on a public route.
            Ok(None) => {
                if let Some(limiter) = &limiter {
                    limiter.enforce_public(parts, &security).await?;
                }
                return Ok(Self(PhantomData));
            }
            // Failed attempts count against the client IP on this route (step 4 for them).
            Err(problem) => match &limiter {
                Some(limiter) => return Err(limiter.charge_failed_auth(parts, &security, problem).await),
                None => return Err(problem),
            },
        };
        // In the request context (for the handler and the audit line) as soon as it is known,
        // so even a rate-limited or forbidden request's audit line names its caller.
        context.set_principal(&principal);
        if let Some(limiter) = &limiter {
            limiter.enforce(parts, &security, &principal).await?;
        }
        scope::require_scopes(&config.auth, &principal, policy.scopes())?;
        // The object-level check (`authorize = ...`) is not run here: it needs the validated
        // path parameters, so it is its own extractor, `Authorize<P>`, after them.
        Ok(Self(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthScheme;
    use crate::policy::RoutePolicy;
    use crate::principal::Principal;
    use crate::rate::{RateLimits, RateSpec};

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
        let limits = RateLimits::in_memory();
        let limiter = limits.limiter(&LIMITED).unwrap();
        let principal = Principal::new("alice", ["read"], AuthScheme::Bearer);

        let authenticate = scheme::authenticate(&security.config().auth, &Open::POLICY, &request);
        // 256 before DPoP; its proof check is boxed, the scheme and the parts it reads are not.
        assert!(size_of_val(&authenticate) <= 288, "authenticate: {}", size_of_val(&authenticate));
        let enforce = limiter.enforce(&parts, &security, &principal);
        assert!(size_of_val(&enforce) <= 320, "enforce: {}", size_of_val(&enforce));
        drop((authenticate, enforce));
        let guard = <Guard<Open> as FromRequestParts<Security>>::from_request_parts(&mut parts, &security);
        assert!(size_of_val(&guard) <= 512, "guard: {}", size_of_val(&guard));
    }
}
