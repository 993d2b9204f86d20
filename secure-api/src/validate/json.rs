//! Reading a JSON body into a [`Value`] with the rules serde_json does not enforce on its own:
//! a duplicate key is an error (two parsers could otherwise disagree on which value counts), the
//! nesting depth is bounded, and a number must be finite (`1e999` is refused, not turned into
//! infinity).
//!
//! The happy path is one parse. Only when it fails is the body parsed a second time through
//! `serde_path_to_error`, to say where the duplicate key or the out-of-range number was.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::error::{FieldError, LocSegment};

/// Deepest nesting of arrays and objects accepted in a JSON body. Far above what a request model
/// needs, far below where a recursive parser or a recursive handler gets into trouble. Deeper
/// bodies are refused with 400 before any of the model is built.
///
/// # Examples
/// ```
/// assert_eq!(secure_api::validate::MAX_JSON_DEPTH, 32);
/// ```
pub const MAX_JSON_DEPTH: usize = 32;

/// Why a body was refused while parsing.
#[derive(Debug, PartialEq)]
pub(crate) enum JsonIssue {
    /// Not JSON: a syntax error, or the body ends early (400).
    Syntax { line: usize, column: usize, eof: bool },
    /// Arrays/objects nested deeper than the limit (400).
    TooDeep { max: usize },
    /// Well-formed, but a key is repeated or a number is not finite (422 with its `loc`).
    Field(FieldError),
}

/// What a visitor found wrong, beyond syntax; kept beside the opaque `serde_json::Error`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Found {
    TooDeep,
    Duplicate,
    NonFinite,
}

/// Parses `bytes` as one JSON value under the rules above.
pub(crate) fn parse(bytes: &[u8], max_depth: usize) -> Result<Value, JsonIssue> {
    let found = Cell::new(None);
    let duplicate_key = Cell::new(None::<String>);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = ValueSeed { depth: 0, max_depth, found: &found, duplicate_key: &duplicate_key };
    let parsed = seed.deserialize(&mut deserializer).and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => Err(locate(bytes, max_depth, &error, found.get())),
    }
}

/// Turns a failed parse into an issue; the second, tracked parse runs only here.
fn locate(bytes: &[u8], max_depth: usize, error: &serde_json::Error, found: Option<Found>) -> JsonIssue {
    // serde_json reports an overflowing number (`1e999`) as a syntax error; its message is the
    // only thing telling it apart, and is stable (covered by a unit test below).
    let out_of_range = error.to_string().starts_with("number out of range");
    match found {
        Some(Found::TooDeep) => return JsonIssue::TooDeep { max: max_depth },
        None if !out_of_range => {
            return JsonIssue::Syntax { line: error.line(), column: error.column(), eof: error.is_eof() };
        }
        _ => {}
    }
    let found = Cell::new(None);
    let duplicate_key = Cell::new(None::<String>);
    let mut track = serde_path_to_error::Track::new();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let seed = ValueSeed { depth: 0, max_depth, found: &found, duplicate_key: &duplicate_key };
    let tracked = seed.deserialize(serde_path_to_error::Deserializer::new(&mut deserializer, &mut track));
    let mut loc: Vec<LocSegment> = match tracked {
        Ok(_) => Vec::new(),
        Err(_) => track
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(LocSegment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(LocSegment::from(key.clone())),
                _ => None,
            })
            .collect(),
    };
    if found.get() == Some(Found::Duplicate) {
        let key = duplicate_key.take().unwrap_or_default();
        loc.push(LocSegment::from(key));
        return JsonIssue::Field(
            FieldError::new("duplicate_key", "Duplicate key: each key may appear only once in an object").at(loc),
        );
    }
    JsonIssue::Field(FieldError::new("finite_number", "Input should be a finite number").at(loc))
}

/// Builds a [`Value`] while checking depth, duplicate keys and finiteness.
#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    depth: usize,
    max_depth: usize,
    found: &'a Cell<Option<Found>>,
    duplicate_key: &'a Cell<Option<String>>,
}

impl ValueSeed<'_> {
    fn fail<E: de::Error>(&self, found: Found) -> E {
        self.found.set(Some(found));
        E::custom(match found {
            Found::TooDeep => "nested too deeply",
            Found::Duplicate => "duplicate key",
            Found::NonFinite => "non-finite number",
        })
    }

    fn nested<E: de::Error>(&self) -> Result<Self, E> {
        if self.depth >= self.max_depth {
            return Err(self.fail(Found::TooDeep));
        }
        Ok(Self { depth: self.depth + 1, ..*self })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Number::from_f64(value).map(Value::Number).ok_or_else(|| self.fail(Found::NonFinite))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let element = self.nested()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(element)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let member = self.nested()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                self.duplicate_key.set(Some(key));
                return Err(self.fail(Found::Duplicate));
            }
            let value = map.next_value_seed(member)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(issue: JsonIssue) -> FieldError {
        match issue {
            JsonIssue::Field(error) => error,
            other => panic!("expected a field issue, got {other:?}"),
        }
    }

    #[test]
    fn parses_ordinary_json() {
        let value = parse(br#"{"name": "O'Brien", "tags": ["a", "\u00e9"], "n": -1.5}"#, 32).unwrap();
        assert_eq!(value["name"], "O'Brien");
        assert_eq!(value["tags"][1], "é");
        assert_eq!(value["n"], -1.5);
    }

    #[test]
    fn duplicate_key_is_located() {
        let error = field(parse(br#"{"items": [{"a": 1}, {"a": 1, "a": 2}]}"#, 32).unwrap_err());
        assert_eq!(error.kind(), "duplicate_key");
        assert_eq!(error.loc(), [LocSegment::from("items"), LocSegment::Index(1), LocSegment::from("a")]);
    }

    #[test]
    fn overflowing_number_is_not_infinity() {
        let error = field(parse(br#"{"price": 1e999}"#, 32).unwrap_err());
        assert_eq!(error.kind(), "finite_number");
        assert_eq!(error.loc(), [LocSegment::from("price")]);
        let error = field(parse(br#"[-1e400]"#, 32).unwrap_err());
        assert_eq!(error.loc(), [LocSegment::Index(0)]);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert_eq!(parse(deep.as_bytes(), 32).unwrap_err(), JsonIssue::TooDeep { max: 32 });
        let fine = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(parse(fine.as_bytes(), 32).is_ok());
        // Far deeper than serde_json's own recursion limit: still our error, no stack trouble.
        let very_deep = "[".repeat(100_000);
        assert_eq!(parse(very_deep.as_bytes(), 32).unwrap_err(), JsonIssue::TooDeep { max: 32 });
    }

    #[test]
    fn syntax_errors_and_trailing_data() {
        assert!(matches!(parse(br#"{"a": }"#, 32), Err(JsonIssue::Syntax { line: 1, eof: false, .. })));
        assert!(matches!(parse(br#"{"a": 1"#, 32), Err(JsonIssue::Syntax { eof: true, .. })));
        assert!(matches!(parse(br#"{} {}"#, 32), Err(JsonIssue::Syntax { .. })));
        assert!(matches!(parse(b"", 32), Err(JsonIssue::Syntax { eof: true, .. })));
        assert!(matches!(parse(b"\"\\ud800\"", 32), Err(JsonIssue::Syntax { .. })));
    }
}
