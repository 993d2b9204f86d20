//! # secure-api
//!
//! API security the compiler checks, for axum 0.8.
//!
//! Write the policy on the handler, and the framework enforces it before the body runs:
//!
//! ```
//! use secure_api::{secure, public, routing::{get, post}, Principal, Security, SecureRouter};
//!
//! #[public]
//! async fn health() -> &'static str { "ok" }
//!
//! #[secure(auth = "oauth", scopes = ["items:write"])]
//! async fn create_item(principal: Principal) -> String {
//!     format!("created by {}", principal.id())
//! }
//!
//! let app = SecureRouter::new()
//!     .route("/health", get(health))
//!     .route("/api/items", post(create_item))
//!     .with_state(Security::builder().build());
//! ```
//!
//! - [`macro@secure`] declares authentication, scopes, sender-constrained tokens, an
//!   object-level check, rate limits, validation and the route's gateway rules; its
//!   documentation lists every argument (the same table [`macro@public`] shows), each checked
//!   at compile time.
//! - [`auth`] verifies tokens from static keys or an identity provider (JWKS with rotation,
//!   OIDC discovery, RFC 7662 introspection).
//! - [`macro@public`] marks a route as deliberately open.
//! - `rate = "100/15m"` on either gives the route its own [`rate`] limiter (in memory, or in
//!   Redis shared by every instance).
//! - [`SecureRouter`] accepts only annotated handlers (a forgotten annotation is a compile
//!   error) and records every route's policy; [`SecureRouter::with_state`] returns a
//!   [`SecureApp`], which keeps every layer, fallback, merged and nested app inside the security
//!   layer and serves with `axum::serve(listener, app)`.
//! - `validate` in [`macro@secure`] checks every `Json`, `Form`, `Query` and `Path` input
//!   against its [`macro@request`] type (a `#[secure]` handler taking a body without it does not
//!   compile); failures are one 422 listing every field (see [`validate`]).
//! - [`Security`] holds keys and verifiers and reaches the guards through axum state.
//! - Every rejection is an RFC 9457 [`Problem`]; every request writes one audit line.
//!
//! The request pipeline, every step in order with what runs it and how it refuses, is defined
//! once, in [`pipeline`].

#![doc = include_str!("../docs/features.md")]
#![forbid(unsafe_code)]
// docs.rs (`--cfg docsrs`, see Cargo.toml) labels each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// A request must never be able to crash the server: no unwrap/expect/panic/unchecked indexing
// in the runtime's non-test code (tests may use them freely).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::unimplemented)
)]

// The macros emit `::secure_api::__private::...`; this lets the crate use its own macros.
extern crate self as secure_api;

pub mod audit;
pub mod auth;
pub mod client;
mod config;
mod context;
pub mod cors;
// Doc-only: compile-fail tests proving a disabled feature's configuration does not exist.
mod features;
mod gateway;
mod guard;
mod header_value;
pub mod headers;
pub mod ip_rules;
pub mod layer;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod oauth;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(any(feature = "idp", feature = "redis"))]
mod outage;
// Doc-only: the pipeline's steps, the one definition every "step N" links to.
pub mod pipeline;
pub mod policy;
mod principal;
mod problem;
pub mod rate;
pub mod report;
pub mod request_id;
pub mod request_limits;
pub mod routing;
pub mod secret;
pub mod serve;
mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod threat;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
pub mod validate;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;

// The crate root holds what a handler author writes: the attributes, the router, the security
// state, the principal, the problem type and the errors. Everything else lives in its module
// (`secure_api::serve::ServeOptions`, `secure_api::client::TrustedProxies`, ...), as in
// tower-http, so each item has one path and the root stays small.
pub use config::ConfigError;
pub use principal::Principal;
pub use problem::{PROBLEM_JSON, Problem};
pub use routing::{SecureApp, SecureRouter};
pub use serve::serve;
pub use state::{Security, SecurityBuilder};

/// How a [`Principal`] proved who it is: the old name of [`auth::AuthScheme`], which now names
/// the schemes of routes and of principals alike.
#[doc(hidden)]
#[deprecated(since = "0.2.0", note = "renamed to `secure_api::auth::AuthScheme`")]
pub type AuthMethod = auth::AuthScheme;

#[doc(inline)]
pub use secure_api_macros::{public, request, secure};
