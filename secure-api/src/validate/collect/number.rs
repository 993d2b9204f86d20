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

    /// The finite number at this node, or the error to record.
    pub(super) fn float(&self, max: f64) -> Result<f64, FieldError> {
        let number = match (self.node, self.text()) {
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
        // `"inf"` and `"NaN"` parse as f64, and an f64 beyond f32's range becomes infinity as f32.
        if !number.is_finite() || number.abs() > max {
            return Err(type_error("finite_number", "Input should be a finite number"));
        }
        Ok(number)
    }
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
