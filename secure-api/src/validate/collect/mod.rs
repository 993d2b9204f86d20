//! Turning a parsed [`Value`] into the request type while collecting *every* model error
//! (wrong type, missing field, unknown field, bad enum value), each with its location.
//!
//! serde stops at the first error, and `serde_path_to_error` reports that one. Clients want all
//! of them at once, so this module has its own deserializer over the [`Value`]:
//!
//! - a type mismatch is recorded at its path, and the visitor is handed a placeholder of the
//!   expected kind (`0`, `""`, an empty list, an object of placeholders) so the rest of the input
//!   is still checked;
//! - an unknown or missing field makes serde's derived visitor give up on that object. The error
//!   is recorded, and what it taught (this struct denies unknown fields; this field is required)
//!   is *learned*; the next pass skips unknown keys of that struct and fills required fields with
//!   placeholders, so it reaches the remaining fields. Passes are bounded by [`MAX_PASSES`], and
//!   learning is per struct type and field, so the number of passes depends on the request
//!   model, not on the size of the input.
//!
//! The happy path is one pass with no allocation beyond the output. A value that cannot be
//! replaced by a placeholder (a custom `Deserialize` refusing it) ends collection: whatever was
//! found so far is reported, never less than one error.
//!
//! In [`Mode::Text`] (query strings, forms, path parameters) every leaf is a string, and numbers
//! and booleans are parsed from it, as `serde_urlencoded` does.

//!
//! # Where things are
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | the entry point [`deserialize`] and its bounded loop of passes |
//! | `learn.rs` | what one pass records (the error sink) and what passes learn about the model |
//! | `path.rs` | where a deserializer is, turned into a `loc` only when an error needs one |
//! | `error.rs` | the deserializers' error type and the field errors a client sees |
//! | `value.rs` | the walker: serde's `Deserializer` over one JSON value or object key |
//! | `number.rs` | integers and floats: range checks, parsing from text, finiteness |
//! | `access.rs` | arrays and objects handed to visitors; skipping unknown fields, filling missing ones |
//! | `variant.rs` | enums written as `"Variant"` or `{"Variant": content}` |
//! | `placeholder.rs` | the stand-in handed over after an error, so the rest is still checked |
//!
//! The unit tests are in `tests.rs`; `proptests.rs` holds the property that the JSON pipeline
//! (`json::parse`, then [`deserialize`]) agrees with `serde_json`, its exceptions stated there.

mod access;
mod error;
mod learn;
mod number;
mod path;
mod placeholder;
mod value;
mod variant;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde_json::Value;

use self::learn::{Learned, Sink};
use self::path::Path;
use self::value::{De, Node};
use super::error::FieldError;

/// Upper bound on deserialization passes for one input (see the module docs).
pub(crate) const MAX_PASSES: usize = 16;

/// How leaves are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// JSON: a number is a number, a string is a string.
    Json,
    /// URL-encoded text: leaves are strings; numbers and booleans are parsed from them.
    Text,
}

/// The outcome of [`deserialize`]: the value when one could be built (possibly from
/// placeholders, when `errors` is not empty) and every error found.
pub(crate) struct Collected<T> {
    pub(crate) value: Option<T>,
    pub(crate) errors: Vec<FieldError>,
}

/// Deserializes `T` from `value`, collecting every model error.
pub(crate) fn deserialize<T: DeserializeOwned>(value: &Value, mode: Mode) -> Collected<T> {
    let mut learned = Learned::default();
    let root = Path::Root;
    let mut earlier_errors = Vec::new();
    for pass in 1..=MAX_PASSES {
        let sink = Sink { learned: &learned, errors: RefCell::new(Vec::new()), discovered: RefCell::default() };
        let result = T::deserialize(De { node: Node::Value(value), path: &root, sink: &sink, mode });
        let errors = sink.errors.into_inner();
        let discovered = sink.discovered.into_inner();
        match result {
            // A later pass only learns from errors, so it finding none means a placeholder hid
            // one: fail closed with what the earlier pass found.
            Ok(_) if errors.is_empty() && !earlier_errors.is_empty() => {
                return Collected { value: None, errors: earlier_errors };
            }
            Ok(value) => return Collected { value: Some(value), errors },
            Err(_) if !discovered.is_empty() && pass < MAX_PASSES => {
                learned.merge(discovered);
                earlier_errors = errors;
            }
            Err(_) => {
                let errors = if errors.is_empty() {
                    vec![FieldError::new("invalid", "Input is not valid for this request")]
                } else {
                    errors
                };
                return Collected { value: None, errors };
            }
        }
    }
    // Unreachable: the last pass always returns above.
    Collected { value: None, errors: vec![FieldError::new("invalid", "Input is not valid for this request")] }
}
