//! Compile-time half of [secure-api](https://docs.rs/secure-api): `#[secure]` and `#[public]`.
//!
//! Use the macros through the `secure-api` crate, which re-exports them; the code they emit
//! calls `::secure_api::__private::*` and holds no security logic of its own. They parse and
//! check the policy at compile time, insert a guard extractor as the handler's first argument,
//! and leave the rest of the handler untouched.
//!
//! Layout: `args/` parses the attribute (one module per argument), `handler.rs` checks the
//! function, `check.rs` holds the cross-argument rules, `diagnose.rs` emits axum's handler
//! checks, `expand.rs` writes the code, and `ctxt.rs` collects every error so one compile
//! reports them all.

#![forbid(unsafe_code)]

mod args;
mod check;
mod ctxt;
mod diagnose;
mod expand;
mod handler;
mod inputs;
mod model;
mod request;

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
///   `async fn check(&Principal, &mut Parts) -> Authorization`, run after the scopes and the
///   handler's `Path` / `Query` inputs (validated first with `validate`: a bad id is 422),
///   before the body is read; a denial is 403 (needs `auth`). A check that reads the app state
///   takes a third argument `State<T>` and the route says `state = AppState`
///   (`T: FromRef<AppState>`, checked at compile time);
/// - `state = AppState`: the router's state type; needed by an `authorize` check that takes
///   `State<T>`, and makes the handler diagnostics check every argument against that state.
/// - `allow_ips = ["10.0.0.0/8", "2001:db8::/32"]` / `deny_ips = [...]`: CIDR lists checked
///   against the trusted client address before authentication (403); parsed at compile time;
/// - `threat = false`: opt the route out of the app's threat detection.
/// - `rate = "N/WINDOW"` (`"100/15m"`, `"10/1s"`, `"5000/1d"`): at most `N` requests per window
///   on this route (GCRA: a burst of `N`, then one per `WINDOW / N`);
/// - `key = "ip" | "principal" | "api_key" | "header:NAME"`: what `rate` counts against
///   (default: the principal; failed authentication always counts against the client IP).
/// - `validate`: every `Json`, `Form`, `Query` and `Path` input is checked against its request
///   type after authentication and authorization (422 listing every failing field); a
///   `#[secure]` handler taking `Json`, `Form` or `Query` must say `validate`, or opt out visibly
///   with `validate = false`;
/// - `max_body = "16KiB"`: the body limit of validated inputs (default 64 KiB; `B`, `KiB`, `MiB`).
///
/// Handler mistakes get axum's own diagnoses on the handler (see `diagnose.rs`): a future that
/// is not `Send`, an output that is not `IntoResponse`, a body extractor that is not the last
/// argument, an argument that is not an extractor (every argument with `state = ...`; without
/// it, those whose type cannot involve a state, such as `u64`). `#[axum::debug_handler]` may
/// be added *below* `#[secure]`; above it, axum-macros calls the function without its guard.
///
/// See `secure_api::pipeline` for the full pipeline, step by step.
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
/// Takes the gateway arguments only: `allow_ips = [...]`, `deny_ips = [...]`, `threat = false`,
/// plus `rate`, `key`, `validate`, `max_body` and `state = AppState` (for the diagnostics).
#[proc_macro_attribute]
pub fn public(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(AttrKind::Public, attr.into(), item.into()).into()
}

/// Declares a request type: serde deserialisation with unknown fields refused, the
/// `validator` rules written on its fields, and a compile-time check that every unbounded field
/// (`String`, `Vec`, maps, sets) has an upper bound (`#[validate(length(max = ...))]`).
///
/// ```ignore
/// #[secure_api::request]
/// struct NewItem {
///     #[validate(length(min = 1, max = 100))]
///     name: String,
///     #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
///     price: f64,
/// }
/// ```
///
/// See the `secure-api` crate documentation for the full list of rules.
#[proc_macro_attribute]
pub fn request(attr: TokenStream, item: TokenStream) -> TokenStream {
    request::attribute(attr.into(), item.into()).into()
}
