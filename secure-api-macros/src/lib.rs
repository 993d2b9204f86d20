//! Compile-time half of [secure-api](https://docs.rs/secure-api): `#[secure]` and `#[public]`.
//!
//! Use the macros through the `secure-api` crate, which re-exports them; the code they emit
//! calls `::secure_api::__private::*` and holds no security logic of its own. They parse and
//! check the policy at compile time, insert a guard extractor as the handler's first argument,
//! and leave the rest of the handler untouched.
//!
//! Layout: `args/` parses the attribute (one module per argument), `handler.rs` checks the
//! function, `check.rs` holds the cross-argument rules, `expand.rs` writes the code, and
//! `ctxt.rs` collects every error so one compile reports them all.

#![forbid(unsafe_code)]

mod args;
mod check;
mod ctxt;
mod expand;
mod handler;
mod model;

use proc_macro::TokenStream;

use crate::model::AttrKind;

/// Secures an axum handler: authentication, authorization, and the rest of the route's policy
/// are enforced before the handler body runs.
///
/// ```ignore
/// #[secure(auth = "oauth", scopes = ["items:write"])]
/// async fn create_item(principal: Principal) -> impl IntoResponse { ... }
/// ```
///
/// Arguments:
/// - `auth = "oauth"` (alias `"jwt"`), `"api_key"`, or several as `"oauth | api_key"` (any of);
/// - `scopes = ["a", "b"]`: all required (needs `auth`);
/// - `auth_optional`: a request without credentials reaches the handler, which takes
///   `Option<Principal>`; bad credentials are still refused (needs `auth`, excludes `scopes`);
/// - `authorize = path::to::check`: an object-level check,
///   `async fn check(&Principal, &mut Parts) -> Authorization`, run after the scopes and
///   before the body is read; a denial is 403 (needs `auth`).
/// - `allow_ips = ["10.0.0.0/8", "2001:db8::/32"]` / `deny_ips = [...]`: CIDR lists checked
///   against the trusted client address before authentication (403); parsed at compile time;
/// - `threat = false`: opt the route out of the app's threat detection.
/// - `rate = "N/WINDOW"` (`"100/15m"`, `"10/1s"`, `"5000/1d"`): at most `N` requests per window
///   on this route (GCRA: a burst of `N`, then one per `WINDOW / N`);
/// - `key = "ip" | "principal" | "api_key" | "header:NAME"`: what `rate` counts against
///   (default: the principal; failed authentication always counts against the client IP).
///
/// See the `secure-api` crate documentation for the full pipeline.
#[proc_macro_attribute]
pub fn secure(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(AttrKind::Secure, attr.into(), item.into()).into()
}

/// Marks an axum handler as deliberately open (health checks, token endpoints). It gets the
/// security headers and the audit line, but no authentication.
///
/// ```ignore
/// #[public]
/// async fn health() -> &'static str { "ok" }
///
/// #[public(rate = "10/1m")] // per client IP; `key = "header:NAME"` to count per header value
/// async fn token() -> &'static str { "..." }
/// ```
///
/// Takes the gateway arguments only: `allow_ips = [...]`, `deny_ips = [...]`, `threat = false`.
#[proc_macro_attribute]
pub fn public(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(AttrKind::Public, attr.into(), item.into()).into()
}
