//! [`Authorization`] and the extractor the expansion inserts (`#[secure(authorize = ...)]`) (documented on the item, where `secure_api::auth` shows it).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use axum::extract::{FromRef, FromRequestParts, State};
use http::StatusCode;
use http::request::Parts;

use crate::audit::Outcome;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::problem::Problem;

/// Object-level authorization: `#[secure(authorize = path::to::check)]`.
///
/// Scopes say what a caller may do in general ("read items"); they cannot say whether this
/// caller may read *this* item. That is OWASP's first API risk, broken object-level
/// authorization. A route names an async function that decides per request and turns a denial
/// into a 403 problem (outcome `denied:forbidden`).
///
/// When it runs: after authentication, the rate limit and the scopes (the guard), after the
/// handler's `Path` and `Query` inputs were extracted (and validated, with `validate`: an
/// invalid id is 422, not 403), and before any body is read. The expansion inserts an
/// [`Authorize`] extractor at that place in the handler's arguments.
///
/// The check receives the principal and the request parts, so it can read path parameters with
/// axum's extractors, headers, or anything a layer put in the extensions:
///
/// ```
/// use axum::extract::{FromRequestParts, Path};
/// use http::request::Parts;
/// use secure_api::auth::Authorization;
/// use secure_api::{secure, Principal};
///
/// /// Callers may read only their own account.
/// async fn owns_account(principal: &Principal, parts: &mut Parts) -> Authorization {
///     match Path::<String>::from_request_parts(parts, &()).await {
///         Ok(Path(account)) => Authorization::allow_if(account == principal.id()),
///         Err(_) => Authorization::Deny,
///     }
/// }
///
/// #[secure(auth = "oauth", scopes = ["accounts:read"], authorize = owns_account)]
/// async fn get_account(principal: Principal) -> String {
///     format!("account of {}", principal.id())
/// }
/// ```
///
/// A check that needs the app's data (who owns an order) takes it as a third argument,
/// `State<T>`, and the route names the router's state type with `state = AppState`; `T` comes
/// from it through [`FromRef`], as with axum's `State` extractor. Both are checked at compile
/// time: a `T` the state cannot provide, or a route on a router with another state, does not
/// compile.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use axum::extract::{FromRef, FromRequestParts, Path, State};
/// use http::request::Parts;
/// use secure_api::auth::Authorization;
/// use secure_api::{routing::get, secure, Principal, SecureRouter, Security};
///
/// #[derive(Clone)]
/// struct Owners(Arc<HashMap<u64, String>>);
///
/// #[derive(Clone)]
/// struct AppState { security: Security, owners: Owners }
///
/// impl FromRef<AppState> for Security {
///     fn from_ref(state: &AppState) -> Self { state.security.clone() }
/// }
/// impl FromRef<AppState> for Owners {
///     fn from_ref(state: &AppState) -> Self { state.owners.clone() }
/// }
///
/// async fn owns_order(principal: &Principal, parts: &mut Parts, State(owners): State<Owners>) -> Authorization {
///     let Ok(Path(id)) = Path::<u64>::from_request_parts(parts, &()).await else {
///         return Authorization::Deny;
///     };
///     Authorization::allow_if(owners.0.get(&id).is_some_and(|owner| owner == principal.id()))
/// }
///
/// #[secure(auth = "oauth", authorize = owns_order, state = AppState)]
/// async fn get_order(Path(id): Path<u64>) -> String {
///     format!("order {id}")
/// }
///
/// let router: SecureRouter<AppState> = SecureRouter::new().route("/orders/{id}", get(get_order));
/// ```
///
/// A function of another shape is a compile error pointing at the path:
///
/// ```compile_fail
/// use secure_api::{secure, Principal};
///
/// fn not_async(principal: &Principal) -> bool { true }
///
/// #[secure(auth = "oauth", authorize = not_async)]
/// async fn handler() {}
/// ```
///
/// The answer of an object-level check.
///
/// # Examples
/// ```
/// use http::StatusCode;
/// use secure_api::{auth::Authorization, Problem};
///
/// assert!(Authorization::allow_if(true).is_allowed());
/// assert!(!Authorization::from(false).is_allowed());
/// // Answer 404 instead of 403 when even the object's existence is private.
/// let hidden = Authorization::Reject(Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Authorization {
    /// The caller may go on to the handler.
    Allow,
    /// 403 `forbidden` problem, outcome `denied:forbidden`.
    Deny,
    /// Any other answer, e.g. a 404 that hides whether the object exists, or a 503 when the
    /// check's own data store is down (fail closed).
    Reject(Problem),
}

impl Authorization {
    /// [`Allow`](Self::Allow) when `allowed`, else [`Deny`](Self::Deny).
    pub fn allow_if(allowed: bool) -> Self {
        if allowed { Self::Allow } else { Self::Deny }
    }

    /// Whether this is [`Allow`](Self::Allow).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow)
    }
}

impl From<bool> for Authorization {
    fn from(allowed: bool) -> Self {
        Self::allow_if(allowed)
    }
}

/// The future an `authorize` check returns, boxed so every route stores the same type.
pub type AuthorizeFuture<'a> = Pin<Box<dyn Future<Output = Authorization> + Send + 'a>>;

/// Implemented by every `async fn(&Principal, &mut Parts) -> Authorization` whose future is
/// `Send`: the shape of a check that needs no app state.
///
/// An async fn that borrows its arguments returns a future tied to their lifetime, which a
/// plain `Fn(..) -> Fut` bound cannot name for all lifetimes at once; this trait, with its
/// blanket impl, is the usual way to say it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an `authorize` check",
    label = "expected an `async fn(&Principal, &mut Parts) -> Authorization`",
    note = "write the check as `async fn check(principal: &Principal, parts: &mut http::request::Parts) -> secure_api::auth::Authorization`; its future must be `Send`",
    note = "a check that takes the app state as a third argument, `State<T>`, needs `state = AppState` in `#[secure(...)]`"
)]
pub trait AuthorizeCheck<'a> {
    /// The check's future.
    type Future: Future<Output = Authorization> + Send + 'a;

    /// Runs the check.
    fn check(self, principal: &'a Principal, parts: &'a mut Parts) -> Self::Future;
}

impl<'a, F, Fut> AuthorizeCheck<'a> for F
where
    F: FnOnce(&'a Principal, &'a mut Parts) -> Fut,
    Fut: Future<Output = Authorization> + Send + 'a,
{
    type Future = Fut;

    fn check(self, principal: &'a Principal, parts: &'a mut Parts) -> Fut {
        self(principal, parts)
    }
}

/// Implemented by every `async fn(&Principal, &mut Parts, State<T>) -> Authorization` whose
/// future is `Send`: a check that reads the app state (`T` is taken from the router's state
/// with [`FromRef`], like axum's [`State`] extractor).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an `authorize` check with `state = ...`",
    label = "expected an `async fn(&Principal, &mut Parts, State<T>) -> Authorization`",
    note = "with `state = AppState`, write the check as `async fn check(principal: &Principal, parts: &mut http::request::Parts, State(data): State<T>) -> secure_api::auth::Authorization`, where `T: FromRef<AppState>`; its future must be `Send`",
    note = "a check that needs no state takes two arguments: remove `state = ...` from `#[secure(...)]`"
)]
pub trait AuthorizeCheckWithState<'a, T> {
    /// The check's future.
    type Future: Future<Output = Authorization> + Send + 'a;

    /// Runs the check.
    fn check(self, principal: &'a Principal, parts: &'a mut Parts, state: State<T>) -> Self::Future;
}

impl<'a, F, Fut, T> AuthorizeCheckWithState<'a, T> for F
where
    F: FnOnce(&'a Principal, &'a mut Parts, State<T>) -> Fut,
    Fut: Future<Output = Authorization> + Send + 'a,
{
    type Future = Fut;

    fn check(self, principal: &'a Principal, parts: &'a mut Parts, state: State<T>) -> Fut {
        self(principal, parts, state)
    }
}

/// A route's object-level check, for the router state `S`; the `#[secure]` expansion
/// implements it on the route's policy type. Not public API.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the `authorize` check of `{Self}` cannot run with the router state `{S}`",
    label = "the handler's `#[secure(..., state = ...)]` names another state type",
    note = "register the handler on a `SecureRouter` whose state is the one named by `state = ...`"
)]
pub trait Authorizer<S>: Send + Sync + 'static {
    /// Runs the check for one request.
    fn authorize<'a>(principal: &'a Principal, parts: &'a mut Parts, state: &'a S) -> AuthorizeFuture<'a>;
}

/// Boxes a stateless check's future; the expansion calls it. Not public API.
#[doc(hidden)]
pub fn boxed<'a, F: AuthorizeCheck<'a>>(
    check: F,
    principal: &'a Principal,
    parts: &'a mut Parts,
) -> AuthorizeFuture<'a> {
    Box::pin(check.check(principal, parts))
}

/// Boxes the future of a check that takes `State<T>`, with `T` taken from the router state
/// `S`; the expansion calls it. Not public API.
#[doc(hidden)]
pub fn boxed_with_state<'a, F, S, T>(
    check: F,
    principal: &'a Principal,
    parts: &'a mut Parts,
    state: &'a S,
) -> AuthorizeFuture<'a>
where
    F: AuthorizeCheckWithState<'a, T>,
    T: FromRef<S>,
{
    Box::pin(check.check(principal, parts, State(T::from_ref(state))))
}

/// The extractor `#[secure(authorize = ...)]` inserts after the handler's path and query
/// inputs and before its body: the object-level check runs once the path parameters are known
/// to be valid (an invalid id is 422, not 403), and no body is read for a caller it refuses.
///
/// Not written by hand. It finds the principal the [`Guard`](crate::__private::Guard) stored.
pub struct Authorize<P>(PhantomData<fn() -> P>);

impl<P> std::fmt::Debug for Authorize<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authorize")
    }
}

impl<S, P> FromRequestParts<S> for Authorize<P>
where
    P: Policy + Authorizer<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let handler = P::POLICY.handler();
        // The guard ran first (it is the handler's first argument) and refused every caller
        // without a principal; if none is found the extractor fails closed with a 500.
        let principal = Principal::from_request_parts(parts, state).await?;
        let verdict = P::authorize(&principal, parts, state).await;
        judge(verdict, handler, &principal)?;
        Ok(Self(PhantomData))
    }
}

/// Turns a check's answer into the request's fate: `Ok` goes on to the handler.
fn judge(verdict: Authorization, handler: &'static str, principal: &Principal) -> Result<(), Problem> {
    match verdict {
        Authorization::Allow => Ok(()),
        Authorization::Deny => {
            tracing::debug!(
                target: "secure_api::auth",
                handler,
                principal = crate::audit::LogSafe::new(principal.id()).as_str(),
                "object-level authorization denied"
            );
            Err(forbidden())
        }
        Authorization::Reject(problem) => {
            tracing::debug!(
                target: "secure_api::auth",
                handler,
                principal = crate::audit::LogSafe::new(principal.id()).as_str(),
                status = problem.status().as_u16(),
                "object-level authorization rejected the request"
            );
            Err(problem)
        }
    }
}

/// 403 for a caller the object-level check refused.
fn forbidden() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
        .with_detail("You are not allowed to access this resource.")
        .with_outcome(Outcome::DENIED_FORBIDDEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthScheme;

    async fn only_alice(principal: &Principal, parts: &mut Parts) -> Authorization {
        parts.extensions.insert(principal.id().to_owned());
        Authorization::allow_if(principal.id() == "alice")
    }

    async fn listed(principal: &Principal, _parts: &mut Parts, State(allowed): State<Vec<String>>) -> Authorization {
        Authorization::allow_if(allowed.iter().any(|id| id == principal.id()))
    }

    #[tokio::test]
    async fn allow_deny_and_reject() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let alice = Principal::new("alice", ["x"], AuthScheme::Bearer);
        assert!(judge(boxed(only_alice, &alice, &mut parts).await, "h", &alice).is_ok());
        assert_eq!(parts.extensions.get::<String>().map(String::as_str), Some("alice"));
        let bob = Principal::new("bob", ["x"], AuthScheme::Bearer);
        let denied = judge(boxed(only_alice, &bob, &mut parts).await, "h", &bob).unwrap_err();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert_eq!(denied.body()["type"], "urn:secure-api:problem:forbidden");
    }

    #[tokio::test]
    async fn a_check_with_state_reads_it_through_from_ref() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let state = vec!["alice".to_owned()];
        let alice = Principal::new("alice", ["x"], AuthScheme::Bearer);
        assert!(boxed_with_state(listed, &alice, &mut parts, &state).await.is_allowed());
        let bob = Principal::new("bob", ["x"], AuthScheme::Bearer);
        assert!(!boxed_with_state(listed, &bob, &mut parts, &state).await.is_allowed());
    }
}
