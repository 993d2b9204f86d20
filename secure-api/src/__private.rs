//! Items the macro expansions call. Not public API: no stability promise, do not use directly.

pub use crate::auth::AuthScheme;
pub use crate::auth::authorize::{
    Authorize, AuthorizeFuture, Authorizer, boxed as authorize_boxed, boxed_with_state as authorize_boxed_with_state,
};
pub use crate::guard::Guard;
pub use crate::ip_rules::Cidr;
pub use crate::policy::Validation;
pub use crate::policy::{ErrorFormat, Policy, RoutePolicy, TokenBinding};
pub use crate::principal::Principal;
pub use crate::rate::{RateKeyKind, RateSpec};
pub use crate::threat::{FieldExemption, ThreatFamily};
pub use crate::validate::{
    FieldError, FieldName, UncheckedPath, ValidateInput, Validated, assert_validate_input, check_rules, validate_nested,
};
pub use axum::extract::{FromRequest, FromRequestParts};
pub use http::request::Parts;

/// Compile-time check the expansion emits: the handler's future is `Send` (axum serves it on a
/// multi-threaded runtime). Never called.
pub fn assert_send_future<F: std::future::Future + Send>(_future: F) {}

/// Compile-time check the expansion emits: the handler's output is a response. Never called.
pub fn assert_into_response<T: axum::response::IntoResponse>(_output: T) {}

/// A value of any type, for the handler calls inside the compile-time checks, which are
/// never run. (Not `panic!()`: applications may deny `clippy::panic`, as this crate does.)
#[allow(clippy::empty_loop)]
pub fn never_called<T>() -> T {
    loop {}
}
// `#[secure_api::request]` derives through these paths, so applications need not depend on
// serde or validator themselves (`#[serde(crate = ...)]`, `#[validate(crate = ...)]`).
pub use serde;
pub use validator;
// `#[secure(validate)]` records the body's schema; `#[secure_api::request]` builds it.
pub use crate::policy::RequestBody;
pub use crate::validate::{
    NestedSchema, NoSchema, RequestSchema, SchemaOf, SchemaRegistry, schema_nullable, schema_number, schema_pattern,
    schema_set,
};
pub use serde_json;
