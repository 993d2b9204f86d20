//! Items the macro expansions call. Not public API: no stability promise, do not use directly.

pub use crate::auth::AuthScheme;
pub use crate::auth::authorize::{AuthorizeFuture, AuthorizeHook, boxed as authorize_boxed};
pub use crate::guard::Guard;
pub use crate::ip_rules::Cidr;
pub use crate::policy::Validation;
pub use crate::policy::{Policy, RoutePolicy, TokenBinding};
pub use crate::principal::Principal;
pub use crate::rate::{RateKeyKind, RateSpec};
pub use crate::threat::{FieldExemption, ThreatFamily};
pub use crate::validate::{
    FieldError, FieldName, UncheckedPath, ValidateInput, Validated, assert_validate_input, check_rules, validate_nested,
};
pub use http::request::Parts;
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
