//! The error type of the collecting deserializers, and the field errors a client sees for a
//! missing field, an unknown field, a bad enum value or a wrong type.

use std::fmt;

use serde::de;
use serde_json::Value;

use crate::validate::error::FieldError;

/// The error type of this module's deserializers. Everything user-facing has been recorded in
/// the sink by the time it propagates as [`CollectError::Recorded`]; the other variants are
/// what serde's visitors report, turned into records where their location is known.
#[derive(Debug)]
pub(super) enum CollectError {
    Recorded,
    MissingField(&'static str),
    UnknownField,
    UnknownVariant(&'static [&'static str]),
    InvalidLength,
    Invalid,
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input")
    }
}

impl std::error::Error for CollectError {}

impl de::Error for CollectError {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        // A visitor's own message may name Rust types; clients get our sentence instead.
        Self::Invalid
    }

    fn invalid_length(_length: usize, _expected: &dyn de::Expected) -> Self {
        Self::InvalidLength
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Self::UnknownVariant(expected)
    }

    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        Self::UnknownField
    }

    fn missing_field(field: &'static str) -> Self {
        Self::MissingField(field)
    }
}

pub(super) fn missing() -> FieldError {
    FieldError::new("missing", "Field required")
}

pub(super) fn unknown_field() -> FieldError {
    FieldError::new("unknown_field", "Unknown field: it is not part of this request")
}

pub(super) fn enum_error(expected: &'static [&'static str]) -> FieldError {
    let listed: Vec<String> = expected.iter().map(|name| format!("'{name}'")).collect();
    FieldError::new("enum", format!("Input should be one of {}", listed.join(", ")))
        .with_ctx("expected", Value::from(expected.to_vec()))
}

pub(super) fn type_error(kind: &'static str, msg: &'static str) -> FieldError {
    FieldError::new(kind, msg)
}
