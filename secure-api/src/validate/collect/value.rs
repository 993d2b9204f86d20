//! The walker: serde's [`Deserializer`] over one JSON value (or object key), recording a type
//! mismatch at its path and handing the visitor a placeholder instead of stopping.

use serde::de::{Deserializer, Visitor};
use serde_json::Value;

use super::Mode;
use super::access::{ObjectAccess, SeqAccess};
use super::error::{CollectError, enum_error, missing, type_error};
use super::learn::{Sink, StructId};
use super::number::integer_methods;
use super::path::Path;
use super::placeholder::Placeholder;
use super::variant::EnumAccess;
use crate::validate::error::FieldError;

/// What a deserializer reads.
#[derive(Clone, Copy)]
pub(super) enum Node<'de> {
    Value(&'de Value),
    /// An object key, always read as text (`{"1": ...}` into a map with integer keys).
    Key(&'de str),
}

/// The deserializer of one node: what it reads, where it is, and the pass's sink.
#[derive(Clone, Copy)]
pub(super) struct De<'de, 'a> {
    pub(super) node: Node<'de>,
    pub(super) path: &'a Path<'a>,
    pub(super) sink: &'a Sink<'a>,
    pub(super) mode: Mode,
}

impl<'de, 'a> De<'de, 'a> {
    /// Records a visitor's error at this path; passes `Recorded` through.
    pub(super) fn settle<T>(&self, result: Result<T, CollectError>) -> Result<T, CollectError> {
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
    pub(super) fn mismatch<V: Visitor<'de>>(
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
    pub(super) fn text(&self) -> Option<&'de str> {
        match self.node {
            Node::Key(key) => Some(key),
            Node::Value(Value::String(text)) if self.mode == Mode::Text => Some(text),
            Node::Value(_) => None,
        }
    }

    pub(super) fn child<'c>(&self, path: &'c Path<'c>, value: &'de Value) -> De<'de, 'c>
    where
        'a: 'c,
    {
        De { node: Node::Value(value), path, sink: self.sink, mode: self.mode }
    }
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
        match self.float32() {
            Ok(number) => {
                let result = visitor.visit_f32(number);
                self.settle(result)
            }
            Err(error) => self.mismatch(error, visitor, |v, p| p.deserialize_f32(v)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CollectError> {
        match self.float() {
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
