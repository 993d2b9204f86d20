//! Numbers: integers checked against the target type's range, floats checked to be finite
//! (an `f64` beyond `f32`'s range is refused, not turned into infinity), and both parsed from
//! text where the leaf is text.

use serde_json::Value;

use super::error::type_error;
use super::value::{De, Node};
use crate::validate::error::FieldError;

impl<'de> De<'de, '_> {
    /// The integer at this node when it lies in `min..=max`, or the error to record.
    pub(super) fn integer(&self, min: i128, max: i128) -> Result<i128, FieldError> {
        let number = match (self.node, self.text()) {
            (Node::Key(key), _) => match canonical_integer(key) {
                Some(number) => number,
                None => return Err(type_error("int_parsing", "Input should be a valid integer")),
            },
            (_, Some(text)) => match text.trim().parse::<i128>() {
                Ok(number) => number,
                Err(_) => return Err(type_error("int_parsing", "Input should be a valid integer")),
            },
            (Node::Value(Value::Number(number)), None) => {
                match number.as_i64().map(i128::from).or_else(|| number.as_u64().map(i128::from)) {
                    Some(number) => number,
                    None => return Err(type_error("int_type", "Input should be a valid integer")),
                }
            }
            _ => return Err(type_error("int_type", "Input should be a valid integer")),
        };
        if number < min || number > max {
            return Err(FieldError::new("int_range", format!("Input should be an integer from {min} to {max}"))
                .with_ctx("min", min_max_json(min))
                .with_ctx("max", min_max_json(max)));
        }
        Ok(number)
    }

    /// The number at this node as an `f32`, or the error to record: rounded to the nearest
    /// `f32` as serde_json does, refused when that is infinite. The bound is on the rounded
    /// value, so `3.4028235e38` (how `f32::MAX` is written) is accepted, `3.5e38` is not.
    pub(super) fn float32(&self) -> Result<f32, FieldError> {
        // `as` rounds to nearest and overflows to infinity, which is what is checked.
        let number = self.float()? as f32;
        if number.is_finite() { Ok(number) } else { Err(not_finite()) }
    }

    /// The finite number at this node, or the error to record.
    pub(super) fn float(&self) -> Result<f64, FieldError> {
        let number = match (self.node, self.text()) {
            (Node::Key(key), _) => match json_number(key) {
                Some(number) => number,
                None => return Err(type_error("float_parsing", "Input should be a valid number")),
            },
            (_, Some(text)) => match text.trim().parse::<f64>() {
                Ok(number) => number,
                Err(_) => return Err(type_error("float_parsing", "Input should be a valid number")),
            },
            (Node::Value(Value::Number(number)), None) => match number.as_f64() {
                Some(number) => number,
                None => return Err(type_error("float_type", "Input should be a valid number")),
            },
            _ => return Err(type_error("float_type", "Input should be a valid number")),
        };
        // `"inf"` and `"NaN"` parse as f64 from text.
        if !number.is_finite() {
            return Err(not_finite());
        }
        Ok(number)
    }
}

fn not_finite() -> FieldError {
    type_error("finite_number", "Input should be a finite number")
}

/// An integer object key, in its one canonical spelling only: `"1"`, never `"01"`, `"+1"`,
/// `" 1"` or `"-0"`. Those are distinct keys to the duplicate-key check (and to any other parser
/// reading the body) but would be the same map entry here, the later silently replacing the
/// earlier: `{"1": "a", "01": "b"}` would pass as `{1: "b"}`. serde_json reads integer keys the
/// same way (the JSON number grammar, no `-0`), so the two never disagree on a key.
fn canonical_integer(key: &str) -> Option<i128> {
    let number = key.parse::<i128>().ok()?;
    (number.to_string() == key).then_some(number)
}

/// A number object key, read as serde_json reads one: the JSON number grammar, nothing around it
/// (Rust's `f64` parser would also take `"inf"`, `"+1"`, `".5"` and `"1."`).
fn json_number(key: &str) -> Option<f64> {
    if key.starts_with(|c: char| c.is_ascii_whitespace()) || key.ends_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    serde_json::from_str::<serde_json::Number>(key).ok()?.as_f64()
}

fn min_max_json(bound: i128) -> Value {
    i64::try_from(bound).map(Value::from).unwrap_or_else(|_| Value::from(bound as u64))
}

/// The `deserialize_<int>` methods of the walker's `Deserializer` impl (in `value.rs`): the
/// integer in the target's range, or a recorded error and a placeholder.
macro_rules! integer_methods {
    ($($method:ident => $ty:ty, $visit:ident, $min:expr, $max:expr;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
                match self.integer($min, $max) {
                    Ok(number) => {
                        let result = visitor.$visit(number as $ty);
                        self.settle(result)
                    }
                    Err(error) => self.mismatch(error, visitor, |visitor, placeholder| placeholder.$method(visitor)),
                }
            }
        )*
    };
}

pub(super) use integer_methods;
