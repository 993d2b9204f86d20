//! Input validation: [pipeline](crate::pipeline) step 6, and the one error format for every input failure.
//!
//! With `#[secure(..., validate)]`, each `Json<T>`, `Form<T>`, `Query<T>` and `Path<T>` input of
//! the handler goes through [`Validated`], after authentication, rate limiting and
//! authorization (the guard is the first extractor, so no body is read for a rejected caller):
//!
//! 1. **size**: a `Content-Length` above the route's limit is refused before reading; the body is
//!    read through a limited reader (`max_body = "16KiB"`, default [`DEFAULT_MAX_BODY`], 64 KiB)
//!    → 413;
//! 2. **media type**: `application/json` (or `+json`) for `Json`, `application/x-www-form-urlencoded`
//!    for `Form` → 415;
//! 3. **parse**: invalid JSON → 400; nesting deeper than [`MAX_JSON_DEPTH`] → 400; a duplicate key
//!    or a non-finite number (`1e999`) → 422 with its `loc`;
//! 4. **threat detection** on the body's strings (the hook in `threat_hook`);
//! 5. **model**: wrong types, missing fields, unknown fields → 422;
//! 6. **rules**: the `#[validate(...)]` rules of the request type → 422.
//!
//! A 422 lists every failure of the model and of the rules (5 and 6 above) at once:
//!
//! ```json
//! {
//!   "type": "urn:secure-api:problem:validation",
//!   "title": "Unprocessable Content",
//!   "status": 422,
//!   "detail": "The body has 2 invalid fields; see `errors`.",
//!   "errors": [
//!     {"loc": ["body", "name"], "msg": "Must be between 1 and 100 characters long", "type": "length", "ctx": {"min": 1, "max": 100}},
//!     {"loc": ["body", "price"], "msg": "Input should be a valid number", "type": "float_type", "ctx": {}}
//!   ]
//! }
//! ```
//!
//! `loc` starts with `body`, `query` or `path`, then object keys and list indexes. `type` is a
//! stable code (`missing`, `unknown_field`, `string_type`, `int_type`, `float_type`,
//! `int_range`, `enum`, `duplicate_key`, `finite_number`, and validator's rule codes `length`,
//! `range`, `email`, `url`, `regex`, ...), `msg` a sentence for people, `ctx` the rule's
//! parameters (never the submitted value).
//!
//! # Request types
//!
//! Declare them with [`macro@crate::request`]: serde deserialization with unknown fields refused
//! (mass assignment, OWASP API3), the `validator` crate's rules written on the fields, and a
//! compile-time check that every `String`, `Vec`, map or set has an upper bound. No direct
//! dependency on serde or validator is needed.
//!
//! ```
//! use axum::{Json, http::StatusCode};
//! use secure_api::{request, secure};
//!
//! #[request]
//! #[derive(Debug)]
//! #[serde(rename_all = "camelCase")]
//! struct NewOrder {
//!     #[validate(length(min = 1, max = 100))]
//!     customer_name: String,
//!     #[validate(email, length(max = 254))]
//!     email: Option<String>,          // may be absent or null
//!     #[validate(length(min = 1, max = 50))]
//!     lines: Vec<Line>,               // nested request types are always validated
//! }
//!
//! #[request]
//! #[derive(Debug)]
//! struct Line {
//!     #[validate(length(min = 1, max = 20))]
//!     sku: String,
//!     #[validate(range(min = 1, max = 99))]
//!     quantity: u32,
//! }
//!
//! #[secure(auth = "oauth", scopes = ["orders:write"], validate, max_body = "16KiB")]
//! async fn create_order(Json(order): Json<NewOrder>) -> StatusCode {
//!     assert!(!order.lines.is_empty()); // the rules held before the body ran
//!     StatusCode::CREATED
//! }
//! ```
//!
//! An unbounded field does not compile:
//!
//! ```compile_fail
//! #[secure_api::request]
//! struct Comment {
//!     text: String, // error: `text` is a string without an upper bound
//! }
//! ```
//!
//! Nor does a `#[secure]` handler that takes a body without saying whether it is validated:
//!
//! ```compile_fail
//! # #[secure_api::request] struct Comment { #[validate(length(max = 500))] text: String }
//! #[secure_api::secure(auth = "oauth")]
//! async fn comment(axum::Json(comment): axum::Json<Comment>) {} // add `validate` or `validate = false`
//! ```
//!
//! Field types: scalars, `String`, `Option<T>`, `Vec<T>`, maps and sets, `Uuid`, IP
//! addresses, dates from common crates, other request types (structs, and enums of unit
//! variants), and any type marked `#[request(leaf)]` (parsed by its own `Deserialize`, no rules
//! of its own). Elements of a bounded collection (`Vec<String>`) are bounded by the route's body
//! limit; give them rules by making the element a request type.

mod body;
mod collect;
mod error;
mod extract;
mod input;
mod json;
mod rules;
mod schema;
mod threat_hook;

pub use body::DEFAULT_MAX_BODY;
pub use error::{FieldError, InputSource, LocSegment, MAX_REPORTED_ERRORS};
pub use extract::{UncheckedPath, Validated};
pub use input::ValidateInput;
pub use json::MAX_JSON_DEPTH;
pub use rules::FieldName;
#[doc(hidden)]
pub use schema::{NestedSchema, NoSchema, SchemaOf, schema_nullable, schema_number, schema_pattern, schema_set};
pub use schema::{RequestSchema, SchemaRegistry};

pub(crate) use body::{FramingIssue, check_framing};

#[doc(hidden)]
pub use input::{assert_validate_input, validate_nested};

/// Runs a request struct's `validator` rules; called by `#[secure_api::request]`'s expansion.
#[doc(hidden)]
pub fn check_rules<T: validator::Validate + ?Sized>(
    value: &T,
    names: &'static [FieldName],
) -> Result<(), Vec<FieldError>> {
    rules::check(value, names)
}
