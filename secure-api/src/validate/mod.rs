//! Input validation: pipeline step 6, and the one error format for every input failure.
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
//! A 422 lists every failure of steps 5 and 6 at once:
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
//! Request types are declared with [`macro@crate::request`].

mod body;
mod collect;
mod error;
mod extract;
mod input;
mod json;
mod rules;
mod threat_hook;

pub use body::DEFAULT_MAX_BODY;
pub use error::{FieldError, InputSource, LocSegment, MAX_REPORTED_ERRORS};
pub use extract::Validated;
pub use input::ValidateInput;
pub use json::MAX_JSON_DEPTH;
pub use rules::FieldName;

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
