//! Compile-time half of [secure-api](https://docs.rs/secure-api): `#[secure]` and `#[public]`.
//!
//! Use the macros through the `secure-api` crate, which re-exports them; the code they emit
//! calls `::secure_api::__private::*` and holds no security logic of its own. They parse and
//! check the policy at compile time, insert a guard extractor as the handler's first argument,
//! and leave the rest of the handler untouched.
//!
//! Layout: `args/` parses the attribute (one module per argument), `handler.rs` checks the
//! function, `check.rs` holds the cross-argument rules and is the only builder of the
//! `CheckedPolicy` (`model.rs`) that `expand.rs` writes the code from, `diagnose.rs` emits
//! axum's handler checks, and `ctxt.rs` collects every error so one compile reports them all.

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
/// The guard runs the route's pipeline (client identity, IP rules, authentication, the rate
/// limit, scopes, the object-level check, validation) before the body; see
/// `secure_api::pipeline` for the full pipeline, step by step.
///
#[doc = include_str!("../docs/arguments.md")]
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
/// It takes the arguments marked for `#[public]` in the table below (no `auth`, `scopes`,
/// `auth_optional`, `bound` or `authorize`: there is no caller to check); its rate limits count
/// per client IP by default.
///
#[doc = include_str!("../docs/arguments.md")]
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
