//! Object-level authorization: `#[secure(authorize = path::to::check)]`.
//!
//! Scopes say what a caller may do in general ("read items"); they cannot say whether this
//! caller may read *this* item. That is OWASP's first API risk, broken object-level
//! authorization. A route names an async function that decides per request; the guard runs it
//! after authentication and scopes, before the body is read, and turns a denial into a 403
//! problem (outcome `denied:forbidden`).
//!
//! The check receives the principal and the request parts, so it can read path parameters with
//! axum's extractors, headers, or anything a layer put in the extensions:
//!
//! ```
//! use axum::extract::{FromRequestParts, Path};
//! use http::request::Parts;
//! use secure_api::auth::Authorization;
//! use secure_api::{secure, Principal};
//!
//! /// Callers may read only their own account.
//! async fn owns_account(principal: &Principal, parts: &mut Parts) -> Authorization {
//!     match Path::<String>::from_request_parts(parts, &()).await {
//!         Ok(Path(account)) => Authorization::allow_if(account == principal.id()),
//!         Err(_) => Authorization::Deny,
//!     }
//! }
//!
//! #[secure(auth = "oauth", scopes = ["accounts:read"], authorize = owns_account)]
//! async fn get_account(principal: Principal) -> String {
//!     format!("account of {}", principal.id())
//! }
//! ```
//!
//! A function of another shape is a compile error pointing at the path:
//!
//! ```compile_fail
//! use secure_api::{secure, Principal};
//!
//! fn not_async(principal: &Principal) -> bool { true }
//!
//! #[secure(auth = "oauth", authorize = not_async)]
//! async fn handler() {}
//! ```

use std::future::Future;
use std::pin::Pin;

use http::StatusCode;
use http::request::Parts;

use crate::audit::Outcome;
use crate::principal::Principal;
use crate::problem::Problem;

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

/// A route's object-level check, as the `#[secure]` expansion stores it.
pub type AuthorizeHook = for<'a> fn(&'a Principal, &'a mut Parts) -> AuthorizeFuture<'a>;

/// Implemented by every `async fn(&Principal, &mut Parts) -> Authorization` whose future is
/// `Send`: the shape `#[secure(authorize = ...)]` requires.
///
/// An async fn that borrows its arguments returns a future tied to their lifetime, which a
/// plain `Fn(..) -> Fut` bound cannot name for all lifetimes at once; this trait, with its
/// blanket impl, is the usual way to say it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as an `authorize` check",
    label = "expected an `async fn(&Principal, &mut Parts) -> Authorization`",
    note = "write the check as `async fn check(principal: &Principal, parts: &mut http::request::Parts) -> secure_api::auth::Authorization`; its future must be `Send`"
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

/// Boxes a check's future; the expansion's hook calls it. Not public API.
#[doc(hidden)]
pub fn boxed<'a, F: AuthorizeCheck<'a>>(
    check: F,
    principal: &'a Principal,
    parts: &'a mut Parts,
) -> AuthorizeFuture<'a> {
    Box::pin(check.check(principal, parts))
}

/// Runs a route's check; the guard calls it after the scope check.
pub(crate) async fn enforce(
    hook: AuthorizeHook,
    handler: &'static str,
    principal: &Principal,
    parts: &mut Parts,
) -> Result<(), Problem> {
    match hook(principal, parts).await {
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

    fn hook<'a>(principal: &'a Principal, parts: &'a mut Parts) -> AuthorizeFuture<'a> {
        boxed(only_alice, principal, parts)
    }

    #[tokio::test]
    async fn allow_deny_and_reject() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let alice = Principal::new("alice", ["x"], AuthScheme::Bearer);
        assert!(enforce(hook, "h", &alice, &mut parts).await.is_ok());
        assert_eq!(parts.extensions.get::<String>().map(String::as_str), Some("alice"));
        let bob = Principal::new("bob", ["x"], AuthScheme::Bearer);
        let denied = enforce(hook, "h", &bob, &mut parts).await.unwrap_err();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert_eq!(denied.body()["type"], "urn:secure-api:problem:forbidden");
    }
}
