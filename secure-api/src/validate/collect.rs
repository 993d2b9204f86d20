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

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde_json::Value;

use super::error::{FieldError, LocSegment};

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

/// A struct as serde describes it to a deserializer: its name and its field names (with aliases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StructId {
    name: &'static str,
    fields: &'static [&'static str],
}

/// What earlier passes taught about the request model.
#[derive(Default, Debug)]
struct Learned {
    /// Structs that refuse unknown fields.
    denies_unknown: Vec<StructId>,
    /// Fields that must be present (no default, not an `Option`).
    required: Vec<(StructId, &'static str)>,
}

impl Learned {
    fn is_empty(&self) -> bool {
        self.denies_unknown.is_empty() && self.required.is_empty()
    }

    fn merge(&mut self, other: Learned) {
        for id in other.denies_unknown {
            if !self.denies_unknown.contains(&id) {
                self.denies_unknown.push(id);
            }
        }
        for entry in other.required {
            if !self.required.contains(&entry) {
                self.required.push(entry);
            }
        }
    }
}

/// Shared by every deserializer of one pass.
struct Sink<'l> {
    learned: &'l Learned,
    errors: RefCell<Vec<FieldError>>,
    discovered: RefCell<Learned>,
}

impl Sink<'_> {
    fn record(&self, path: &Path<'_>, error: FieldError) {
        self.errors.borrow_mut().push(error.at(path.to_loc()));
    }

    fn learn_denies_unknown(&self, id: StructId) {
        if !self.learned.denies_unknown.contains(&id) {
            let mut discovered = self.discovered.borrow_mut();
            if !discovered.denies_unknown.contains(&id) {
                discovered.denies_unknown.push(id);
            }
        }
    }

    fn learn_required(&self, id: StructId, field: &'static str) {
        let entry = (id, field);
        if !self.learned.required.contains(&entry) {
            let mut discovered = self.discovered.borrow_mut();
            if !discovered.required.contains(&entry) {
                discovered.required.push(entry);
            }
        }
    }
}

/// Where a deserializer is, as a list linked through the stack (no allocation until an error).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn to_loc(self) -> Vec<LocSegment> {
        let mut loc = Vec::new();
        let mut current = &self;
        loop {
            match current {
                Path::Root => break,
                Path::Key(parent, key) => {
                    loc.push(LocSegment::from((*key).to_owned()));
                    current = parent;
                }
                Path::Index(parent, index) => {
                    loc.push(LocSegment::Index(*index));
                    current = parent;
                }
            }
        }
        loc.reverse();
        loc
    }
}

/// The error type of this module's deserializers. Everything user-facing has been recorded in
/// the sink by the time it propagates as [`CollectError::Recorded`]; the other variants are
/// what serde's visitors report, turned into records where their location is known.
#[derive(Debug)]
enum CollectError {
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

fn missing() -> FieldError {
    FieldError::new("missing", "Field required")
}

fn unknown_field() -> FieldError {
    FieldError::new("unknown_field", "Unknown field: it is not part of this request")
}

fn enum_error(expected: &'static [&'static str]) -> FieldError {
    let listed: Vec<String> = expected.iter().map(|name| format!("'{name}'")).collect();
    FieldError::new("enum", format!("Input should be one of {}", listed.join(", ")))
        .with_ctx("expected", Value::from(expected.to_vec()))
}

fn type_error(kind: &'static str, msg: &'static str) -> FieldError {
    FieldError::new(kind, msg)
}

/// What a deserializer reads.
#[derive(Clone, Copy)]
enum Node<'de> {
    Value(&'de Value),
    /// An object key, always read as text (`{"1": ...}` into a map with integer keys).
    Key(&'de str),
}

#[derive(Clone, Copy)]
struct De<'de, 'a> {
    node: Node<'de>,
    path: &'a Path<'a>,
    sink: &'a Sink<'a>,
    mode: Mode,
}

impl<'de, 'a> De<'de, 'a> {
    /// Records a visitor's error at this path; passes `Recorded` through.
    fn settle<T>(&self, result: Result<T, CollectError>) -> Result<T, CollectError> {
        result.map_err(|error| {
            let record = match error {
                CollectError::Recorded => return CollectError::Recorded,
                // Raised by a struct's field-name visitor; the object it belongs to records it
                // and learns that the struct denies unknown fields.
                CollectError::UnknownField => return CollectError::UnknownField,
                CollectError::MissingField(field) => {
                    let child = Path::Key(self.path, field);
                    self.sink.record(&child, missing());
                    return CollectError::Recorded;
                }
                CollectError::UnknownVariant(expected) => enum_error(expected),
                CollectError::InvalidLength => FieldError::new("length", "Input has the wrong number of items"),
                CollectError::Invalid => FieldError::new("invalid", "Input is not valid for this field"),
            };
            self.sink.record(self.path, record);
            CollectError::Recorded
        })
    }

    /// Records a type mismatch and hands the visitor a placeholder instead.
    fn mismatch<V: Visitor<'de>>(
        &self,
        error: FieldError,
        visitor: V,
        placeholder: impl FnOnce(V, Placeholder<'a>) -> Result<V::Value, CollectError>,
    ) -> Result<V::Value, CollectError> {
        self.sink.record(self.path, error);
        let quiet = Placeholder { path: self.path, sink: self.sink, report_missing: false };
        placeholder(visitor, quiet).map_err(|_| CollectError::Recorded)
    }

    /// The text of a leaf read as text: any string in [`Mode::Text`], and object keys.
    fn text(&self) -> Option<&'de str> {
        match self.node {
            Node::Key(key) => Some(key),
            Node::Value(Value::String(text)) if self.mode == Mode::Text => Some(text),
            Node::Value(_) => None,
        }
    }

    /// The integer at this node when it lies in `min..=max`, or the error to record.
    fn integer(&self, min: i128, max: i128) -> Result<i128, FieldError> {
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
    fn float(&self, max: f64) -> Result<f64, FieldError> {
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

    fn child<'c>(&self, path: &'c Path<'c>, value: &'de Value) -> De<'de, 'c>
    where
        'a: 'c,
    {
        De { node: Node::Value(value), path, sink: self.sink, mode: self.mode }
    }
}

fn min_max_json(bound: i128) -> Value {
    i64::try_from(bound).map(Value::from).unwrap_or_else(|_| Value::from(bound as u64))
}

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

impl<'de, 'a> Deserializer<'de> for De<'de, 'a> {
    type Error = CollectError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let value = match self.node {
            Node::Key(key) => {
                let result = visitor.visit_borrowed_str(key);
                return self.settle(result);
            }
            Node::Value(value) => value,
        };
        let result = match value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(flag) => visitor.visit_bool(*flag),
            Value::Number(number) => {
                if let Some(unsigned) = number.as_u64() {
                    visitor.visit_u64(unsigned)
                } else if let Some(signed) = number.as_i64() {
                    visitor.visit_i64(signed)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or_default())
                }
            }
            Value::String(text) => visitor.visit_borrowed_str(text),
            Value::Array(items) => visitor.visit_seq(SeqAccess::new(items, self.path, self.sink, self.mode)),
            Value::Object(object) => {
                visitor.visit_map(ObjectAccess::new(object, None, self.path, self.sink, self.mode))
            }
        };
        self.settle(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let flag = match (self.node, self.text()) {
            (_, Some("true")) => Some(true),
            (_, Some("false")) => Some(false),
            (Node::Value(Value::Bool(flag)), None) => Some(*flag),
            _ => None,
        };
        match flag {
            Some(flag) => {
                let result = visitor.visit_bool(flag);
                self.settle(result)
            }
            None => self.mismatch(type_error("bool_type", "Input should be a valid boolean"), visitor, |v, p| {
                p.deserialize_bool(v)
            }),
        }
    }

    integer_methods! {
        deserialize_i8 => i8, visit_i8, i8::MIN.into(), i8::MAX.into();
        deserialize_i16 => i16, visit_i16, i16::MIN.into(), i16::MAX.into();
        deserialize_i32 => i32, visit_i32, i32::MIN.into(), i32::MAX.into();
        deserialize_i64 => i64, visit_i64, i64::MIN.into(), i64::MAX.into();
        deserialize_i128 => i128, visit_i128, i64::MIN.into(), u64::MAX.into();
        deserialize_u8 => u8, visit_u8, 0, u8::MAX.into();
        deserialize_u16 => u16, visit_u16, 0, u16::MAX.into();
        deserialize_u32 => u32, visit_u32, 0, u32::MAX.into();
        deserialize_u64 => u64, visit_u64, 0, u64::MAX.into();
        deserialize_u128 => u128, visit_u128, 0, u64::MAX.into();
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.float(f64::from(f32::MAX)) {
            Ok(number) => {
                let result = visitor.visit_f32(number as f32);
                self.settle(result)
            }
            Err(error) => self.mismatch(error, visitor, |v, p| p.deserialize_f32(v)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.float(f64::MAX) {
            Ok(number) => {
                let result = visitor.visit_f64(number);
                self.settle(result)
            }
            Err(error) => self.mismatch(error, visitor, |v, p| p.deserialize_f64(v)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let text = match self.node {
            Node::Key(key) => Some(key),
            Node::Value(Value::String(text)) => Some(text.as_str()),
            Node::Value(_) => None,
        };
        let mut chars = text.map(str::chars);
        match chars.as_mut().and_then(|chars| chars.next().filter(|_| chars.next().is_none())) {
            Some(character) => {
                let result = visitor.visit_char(character);
                self.settle(result)
            }
            None => self.mismatch(type_error("char_type", "Input should be a single character"), visitor, |v, p| {
                p.deserialize_char(v)
            }),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let text = match self.node {
            Node::Key(key) => Some(key),
            Node::Value(Value::String(text)) => Some(text.as_str()),
            Node::Value(_) => None,
        };
        match text {
            Some(text) => {
                let result = visitor.visit_borrowed_str(text);
                self.settle(result)
            }
            None => self
                .mismatch(type_error("string_type", "Input should be a string"), visitor, |v, p| p.deserialize_str(v)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.node {
            Node::Value(Value::Array(_)) => self.deserialize_seq(visitor),
            _ => self.deserialize_str(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let result = match self.node {
            Node::Value(Value::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        self.settle(result)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.node {
            Node::Value(Value::Null) => {
                let result = visitor.visit_unit();
                self.settle(result)
            }
            _ => self.mismatch(type_error("null_type", "Input should be null"), visitor, |v, p| p.deserialize_unit(v)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        let result = visitor.visit_newtype_struct(self);
        self.settle(result)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.node {
            Node::Value(Value::Array(items)) => {
                let mut access = SeqAccess::new(items, self.path, self.sink, self.mode);
                let result = visitor.visit_seq(&mut access);
                let value = self.settle(result)?;
                if access.remaining() > 0 {
                    self.sink.record(self.path, FieldError::new("length", "Input has too many items"));
                    return Err(CollectError::Recorded);
                }
                Ok(value)
            }
            _ => self.mismatch(type_error("list_type", "Input should be a valid list"), visitor, |v, p| {
                p.deserialize_seq(v)
            }),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, length: usize, visitor: V) -> Result<V::Value, CollectError> {
        match self.node {
            Node::Value(Value::Array(items)) if items.len() == length => self.deserialize_seq(visitor),
            Node::Value(Value::Array(_)) => {
                let error = FieldError::new("length", format!("Input should be a list of {length} items"))
                    .with_ctx("length", length);
                self.mismatch(error, visitor, |v, p| p.deserialize_tuple(length, v))
            }
            _ => self.mismatch(type_error("list_type", "Input should be a valid list"), visitor, |v, p| {
                p.deserialize_tuple(length, v)
            }),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        length: usize,
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        self.deserialize_tuple(length, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.node {
            Node::Value(Value::Object(object)) => {
                let result = visitor.visit_map(ObjectAccess::new(object, None, self.path, self.sink, self.mode));
                self.settle(result)
            }
            _ => self
                .mismatch(type_error("object_type", "Input should be an object"), visitor, |v, p| p.deserialize_map(v)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        let id = StructId { name, fields };
        match self.node {
            Node::Value(Value::Object(object)) => {
                let result = visitor.visit_map(ObjectAccess::new(object, Some(id), self.path, self.sink, self.mode));
                if let Err(CollectError::MissingField(field)) = &result {
                    self.sink.learn_required(id, field);
                }
                self.settle(result)
            }
            _ => self.mismatch(type_error("object_type", "Input should be an object"), visitor, |v, p| {
                p.deserialize_struct(name, fields, v)
            }),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        // `"Variant"` or `{"Variant": content}`, as serde_json writes enums.
        let (variant, content) = match self.node {
            Node::Key(key) => (Some(key), None),
            Node::Value(Value::String(text)) => (Some(text.as_str()), None),
            Node::Value(Value::Object(object)) if object.len() == 1 => match object.iter().next() {
                Some((key, content)) => (Some(key.as_str()), Some(content)),
                None => (None, None),
            },
            Node::Value(_) => (None, None),
        };
        // Checked here rather than by serde's variant visitor so a bad value does not end the
        // pass (serde would give up on the whole object). Variant aliases are therefore not
        // accepted in request types.
        match variant {
            Some(variant) if variants.contains(&variant) => {
                let result = visitor.visit_enum(EnumAccess { variant, content, de: self });
                self.settle(result)
            }
            _ => self.mismatch(enum_error(variants), visitor, |v, p| p.deserialize_enum("", variants, v)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        let result = visitor.visit_unit();
        self.settle(result)
    }
}

struct SeqAccess<'de, 'a> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    path: &'a Path<'a>,
    sink: &'a Sink<'a>,
    mode: Mode,
}

impl<'de, 'a> SeqAccess<'de, 'a> {
    fn new(items: &'de [Value], path: &'a Path<'a>, sink: &'a Sink<'a>, mode: Mode) -> Self {
        Self { items: items.iter(), index: 0, path, sink, mode }
    }

    fn remaining(&self) -> usize {
        self.items.len()
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de, '_> {
    type Error = CollectError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, CollectError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.index);
        self.index += 1;
        seed.deserialize(De { node: Node::Value(item), path: &path, sink: self.sink, mode: self.mode }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The value half of the entry the last key belonged to.
enum Pending<'de> {
    None,
    Value(&'de str, &'de Value),
    /// A required field the object lacks (learned in an earlier pass): a placeholder that
    /// records `missing`.
    Missing(&'static str),
}

struct ObjectAccess<'de, 'a> {
    object: &'de serde_json::Map<String, Value>,
    entries: serde_json::map::Iter<'de>,
    id: Option<StructId>,
    skip_unknown: bool,
    /// Index into `sink.learned.required` for injecting missing required fields.
    required_cursor: usize,
    pending: Pending<'de>,
    path: &'a Path<'a>,
    sink: &'a Sink<'a>,
    mode: Mode,
}

impl<'de, 'a> ObjectAccess<'de, 'a> {
    fn new(
        object: &'de serde_json::Map<String, Value>,
        id: Option<StructId>,
        path: &'a Path<'a>,
        sink: &'a Sink<'a>,
        mode: Mode,
    ) -> Self {
        let skip_unknown = !sink.learned.is_empty() && id.is_some_and(|id| sink.learned.denies_unknown.contains(&id));
        Self {
            object,
            entries: object.iter(),
            id,
            skip_unknown,
            required_cursor: 0,
            pending: Pending::None,
            path,
            sink,
            mode,
        }
    }

    /// The next learned-required field of this struct that the object lacks.
    fn next_missing(&mut self) -> Option<&'static str> {
        let id = self.id?;
        let required = &self.sink.learned.required;
        while let Some(&(struct_id, field)) = required.get(self.required_cursor) {
            self.required_cursor += 1;
            if struct_id == id && !self.object.contains_key(field) {
                return Some(field);
            }
        }
        None
    }
}

impl<'de> de::MapAccess<'de> for ObjectAccess<'de, '_> {
    type Error = CollectError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, CollectError> {
        for (key, value) in self.entries.by_ref() {
            let path = Path::Key(self.path, key);
            if self.skip_unknown && self.id.is_some_and(|id| !id.fields.contains(&key.as_str())) {
                self.sink.record(&path, unknown_field());
                continue;
            }
            let key_de = De { node: Node::Key(key), path: &path, sink: self.sink, mode: self.mode };
            return match seed.deserialize(key_de) {
                Ok(key_value) => {
                    self.pending = Pending::Value(key, value);
                    Ok(Some(key_value))
                }
                Err(CollectError::UnknownField) => {
                    self.sink.record(&path, unknown_field());
                    if let Some(id) = self.id {
                        self.sink.learn_denies_unknown(id);
                    }
                    Err(CollectError::Recorded)
                }
                Err(CollectError::Recorded) => Err(CollectError::Recorded),
                Err(_) => {
                    self.sink.record(&path, FieldError::new("invalid", "Key is not valid"));
                    Err(CollectError::Recorded)
                }
            };
        }
        if let Some(field) = self.next_missing() {
            self.pending = Pending::Missing(field);
            return seed
                .deserialize(de::value::BorrowedStrDeserializer::<CollectError>::new(field))
                .map(Some)
                .map_err(|_| CollectError::Recorded);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, CollectError> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::Value(key, value) => {
                let path = Path::Key(self.path, key);
                seed.deserialize(De { node: Node::Value(value), path: &path, sink: self.sink, mode: self.mode })
            }
            Pending::Missing(field) => {
                let path = Path::Key(self.path, field);
                seed.deserialize(Placeholder { path: &path, sink: self.sink, report_missing: true })
            }
            Pending::None => Err(CollectError::Invalid),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumAccess<'de, 'a> {
    variant: &'de str,
    content: Option<&'de Value>,
    de: De<'de, 'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'de, 'a> {
    type Error = CollectError;
    type Variant = VariantAccess<'de, 'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), CollectError> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::<CollectError>::new(self.variant))?;
        Ok((variant, VariantAccess { variant: self.variant, content: self.content, de: self.de }))
    }
}

struct VariantAccess<'de, 'a> {
    variant: &'de str,
    content: Option<&'de Value>,
    de: De<'de, 'a>,
}

impl<'de> VariantAccess<'de, '_> {
    fn without_content<T>(&self) -> Result<T, CollectError> {
        self.de.sink.record(self.de.path, FieldError::new("invalid", "Input is not valid for this field"));
        Err(CollectError::Recorded)
    }
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'de, '_> {
    type Error = CollectError;

    fn unit_variant(self) -> Result<(), CollectError> {
        match self.content {
            None | Some(Value::Null) => Ok(()),
            Some(_) => self.without_content(),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, CollectError> {
        let Some(content) = self.content else {
            return self.without_content();
        };
        let path = Path::Key(self.de.path, self.variant);
        seed.deserialize(self.de.child(&path, content))
    }

    fn tuple_variant<V: Visitor<'de>>(self, length: usize, visitor: V) -> Result<V::Value, CollectError> {
        let Some(content) = self.content else {
            return self.without_content();
        };
        let path = Path::Key(self.de.path, self.variant);
        self.de.child(&path, content).deserialize_tuple(length, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        let Some(content) = self.content else {
            return self.without_content();
        };
        let path = Path::Key(self.de.path, self.variant);
        self.de.child(&path, content).deserialize_struct(self.variant_name(), fields, visitor)
    }
}

impl VariantAccess<'_, '_> {
    /// Struct variants are told apart from other structs by their field list; the name is not
    /// `'static` here, so they share one.
    fn variant_name(&self) -> &'static str {
        "variant"
    }
}

/// Stands in for a value that is missing or of the wrong type, so serde's visitor can finish
/// and the rest of the input is still checked. Yields the "emptiest" value of whatever kind is
/// asked for. With `report_missing`, it first records `missing` (for required fields learned in
/// an earlier pass); an `Option` asking for it gets `None` and no error.
#[derive(Clone, Copy)]
struct Placeholder<'a> {
    path: &'a Path<'a>,
    sink: &'a Sink<'a>,
    report_missing: bool,
}

impl Placeholder<'_> {
    fn quiet(self) -> Self {
        if self.report_missing {
            self.sink.record(self.path, missing());
        }
        Self { report_missing: false, ..self }
    }
}

macro_rules! placeholder_methods {
    ($($method:ident => $visit:ident($($value:expr)?);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
                self.quiet();
                visitor.$visit($($value)?)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Placeholder<'_> {
    type Error = CollectError;

    placeholder_methods! {
        deserialize_bool => visit_bool(false);
        deserialize_i8 => visit_i8(0);
        deserialize_i16 => visit_i16(0);
        deserialize_i32 => visit_i32(0);
        deserialize_i64 => visit_i64(0);
        deserialize_i128 => visit_i128(0);
        deserialize_u8 => visit_u8(0);
        deserialize_u16 => visit_u16(0);
        deserialize_u32 => visit_u32(0);
        deserialize_u64 => visit_u64(0);
        deserialize_u128 => visit_u128(0);
        deserialize_f32 => visit_f32(0.0);
        deserialize_f64 => visit_f64(0.0);
        deserialize_char => visit_char(' ');
        deserialize_str => visit_str("");
        deserialize_string => visit_str("");
        deserialize_bytes => visit_bytes(&[]);
        deserialize_byte_buf => visit_bytes(&[]);
        deserialize_unit => visit_unit();
        deserialize_any => visit_unit();
        deserialize_identifier => visit_str("");
        deserialize_ignored_any => visit_unit();
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        // serde itself reported this field missing (a `deserialize_with` on an `Option`, say),
        // so `None` here must still be an error.
        self.quiet();
        visitor.visit_none()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, CollectError> {
        self.quiet();
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        self.quiet();
        visitor.visit_seq(de::value::SeqDeserializer::<std::iter::Empty<()>, CollectError>::new(std::iter::empty()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, length: usize, visitor: V) -> Result<V::Value, CollectError> {
        let quiet = self.quiet();
        visitor.visit_seq(PlaceholderSeq { remaining: length, placeholder: quiet })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        length: usize,
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        self.deserialize_tuple(length, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        self.quiet();
        visitor
            .visit_map(de::value::MapDeserializer::<std::iter::Empty<((), ())>, CollectError>::new(std::iter::empty()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        let quiet = self.quiet();
        visitor.visit_map(PlaceholderFields { fields: fields.iter(), placeholder: quiet })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        let quiet = self.quiet();
        let Some(variant) = variants.first() else {
            return Err(CollectError::Recorded);
        };
        visitor.visit_enum(PlaceholderVariant { variant, placeholder: quiet })
    }
}

struct PlaceholderSeq<'a> {
    remaining: usize,
    placeholder: Placeholder<'a>,
}

impl<'de> de::SeqAccess<'de> for PlaceholderSeq<'_> {
    type Error = CollectError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, CollectError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(self.placeholder).map(Some)
    }
}

struct PlaceholderFields<'a> {
    fields: std::slice::Iter<'static, &'static str>,
    placeholder: Placeholder<'a>,
}

impl<'de> de::MapAccess<'de> for PlaceholderFields<'_> {
    type Error = CollectError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, CollectError> {
        match self.fields.next() {
            Some(field) => seed.deserialize(de::value::BorrowedStrDeserializer::<CollectError>::new(field)).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, CollectError> {
        seed.deserialize(self.placeholder)
    }
}

struct PlaceholderVariant<'a> {
    variant: &'static str,
    placeholder: Placeholder<'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for PlaceholderVariant<'a> {
    type Error = CollectError;
    type Variant = Placeholder<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Placeholder<'a>), CollectError> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::<CollectError>::new(self.variant))?;
        Ok((variant, self.placeholder))
    }
}

impl<'de> de::VariantAccess<'de> for Placeholder<'_> {
    type Error = CollectError;

    fn unit_variant(self) -> Result<(), CollectError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, CollectError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, length: usize, visitor: V) -> Result<V::Value, CollectError> {
        self.deserialize_tuple(length, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CollectError> {
        self.deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        name: String,
        price: f64,
        #[serde(default)]
        tags: Vec<String>,
        note: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Order {
        customer: String,
        items: Vec<Item>,
        kind: Kind,
        count: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Retail,
        Wholesale,
    }

    fn errors<T: DeserializeOwned>(value: serde_json::Value, mode: Mode) -> Vec<(String, String)> {
        let collected = deserialize::<T>(&value, mode);
        let mut found: Vec<(String, String)> = collected
            .errors
            .iter()
            .map(|error| {
                let loc: Vec<String> = error.loc().iter().map(ToString::to_string).collect();
                (loc.join("."), error.kind().to_owned())
            })
            .collect();
        found.sort();
        found
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        list.sort();
        list
    }

    #[test]
    fn valid_input_is_one_pass_without_errors() {
        let value = json!({"name": "Café 東京 O'Brien", "price": 2.5, "note": null});
        let collected = deserialize::<Item>(&value, Mode::Json);
        assert!(collected.errors.is_empty());
        let item = collected.value.unwrap();
        assert_eq!(item.name, "Café 東京 O'Brien");
        assert_eq!(item.tags, Vec::<String>::new());
        assert_eq!(item.note, None);
    }

    #[test]
    fn every_type_error_at_once() {
        let value = json!({"name": 5, "price": "cheap", "tags": ["ok", 3], "note": []});
        assert_eq!(
            errors::<Item>(value, Mode::Json),
            pairs(&[
                ("name", "string_type"),
                ("price", "float_type"),
                ("tags.1", "string_type"),
                ("note", "string_type")
            ])
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_all_found() {
        let value = json!({"isAdmin": true, "role": "root", "note": "x"});
        assert_eq!(
            errors::<Item>(value, Mode::Json),
            pairs(&[
                ("isAdmin", "unknown_field"),
                ("role", "unknown_field"),
                ("name", "missing"),
                ("price", "missing")
            ])
        );
    }

    #[test]
    fn nested_lists_enums_and_ranges() {
        let value = json!({
            "customer": "Zoë",
            "items": [
                {"name": "a", "price": 1},
                {"name": "b"},
                {"name": "c", "price": 1, "extra": 1},
                {"name": ["x"], "price": 1}
            ],
            "kind": "bulk",
            "count": 300
        });
        assert_eq!(
            errors::<Order>(value, Mode::Json),
            pairs(&[
                ("count", "int_range"),
                ("items.1.price", "missing"),
                ("items.2.extra", "unknown_field"),
                ("items.3.name", "string_type"),
                ("kind", "enum"),
            ])
        );
    }

    #[test]
    fn wrong_container_types_and_negative_unsigned() {
        let value = json!({"customer": "a", "items": {"name": "a"}, "kind": "retail", "count": -1});
        assert_eq!(errors::<Order>(value, Mode::Json), pairs(&[("count", "int_range"), ("items", "list_type")]));
        assert_eq!(errors::<Order>(json!([1, 2]), Mode::Json), pairs(&[("", "object_type")]));
    }

    #[test]
    fn text_mode_parses_numbers_and_rejects_non_finite() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Search {
            q: String,
            page: u32,
            ratio: f64,
            exact: bool,
        }
        let ok = json!({"q": "tea", "page": "2", "ratio": "0.5", "exact": "true"});
        let collected = deserialize::<Search>(&ok, Mode::Text);
        assert!(collected.errors.is_empty(), "{:?}", collected.errors);
        assert_eq!(collected.value.unwrap().page, 2);
        let bad = json!({"q": "tea", "page": "two", "ratio": "inf", "exact": "yes", "x": "1"});
        assert_eq!(
            errors::<Search>(bad, Mode::Text),
            pairs(&[
                ("exact", "bool_type"),
                ("page", "int_parsing"),
                ("ratio", "finite_number"),
                ("x", "unknown_field")
            ])
        );
    }

    #[test]
    fn map_keys_are_read_as_text() {
        let value = json!({"1": "a", "x": "b"});
        assert_eq!(errors::<HashMap<u32, String>>(value, Mode::Json), pairs(&[("x", "int_parsing")]));
    }

    #[test]
    fn a_required_option_stays_required() {
        fn plain_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
            Option::<String>::deserialize(deserializer)
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Custom {
            #[serde(deserialize_with = "plain_option")]
            nickname: Option<String>,
        }
        let collected = deserialize::<Custom>(&json!({}), Mode::Json);
        assert!(collected.value.is_none() || !collected.errors.is_empty());
        assert_eq!(errors::<Custom>(json!({}), Mode::Json), pairs(&[("nickname", "missing")]));
    }

    #[test]
    fn f32_overflow_is_not_infinity() {
        assert_eq!(errors::<f32>(json!(1e300), Mode::Json), pairs(&[("", "finite_number")]));
    }

    #[test]
    fn learning_is_bounded_by_the_model_not_the_input() {
        // A thousand items each missing the same required field: one pass learns it for `Item`.
        let items: Vec<serde_json::Value> = (0..1000).map(|_| json!({"name": "a"})).collect();
        let value = json!({"customer": "a", "items": items, "kind": "retail", "count": 1});
        let found = errors::<Order>(value, Mode::Json);
        assert_eq!(found.len(), 1000);
        assert!(found.iter().all(|(loc, kind)| loc.ends_with(".price") && kind == "missing"));
    }

    #[test]
    fn a_value_no_placeholder_can_satisfy_still_reports_what_it_found() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct WithId {
            name: String,
            id: std::num::NonZeroU32,
        }
        // `id` comes first and ends the pass; what was found is reported, never nothing.
        let found = errors::<WithId>(json!({"name": 1, "id": 0}), Mode::Json);
        assert_eq!(found, pairs(&[("id", "invalid")]));
        let found = errors::<WithId>(json!({"name": "a", "id": 0}), Mode::Json);
        assert_eq!(found, pairs(&[("id", "invalid")]));
    }
}
