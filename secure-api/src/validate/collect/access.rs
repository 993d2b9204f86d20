//! Arrays and objects as serde's visitors read them: [`SeqAccess`] over a JSON array and
//! [`ObjectAccess`] over a JSON object, which skips the unknown keys of a struct known to deny
//! them and fills in required fields the object lacks, both learned in an earlier pass.

use serde::de::{self, DeserializeSeed};
use serde_json::Value;

use super::Mode;
use super::error::{CollectError, unknown_field};
use super::learn::{Sink, StructId};
use super::path::Path;
use super::placeholder::Placeholder;
use super::value::{De, Node};
use crate::validate::error::FieldError;

pub(super) struct SeqAccess<'de, 'a> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    path: &'a Path<'a>,
    sink: &'a Sink<'a>,
    mode: Mode,
}

impl<'de, 'a> SeqAccess<'de, 'a> {
    pub(super) fn new(items: &'de [Value], path: &'a Path<'a>, sink: &'a Sink<'a>, mode: Mode) -> Self {
        Self { items: items.iter(), index: 0, path, sink, mode }
    }

    pub(super) fn remaining(&self) -> usize {
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

pub(super) struct ObjectAccess<'de, 'a> {
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
    pub(super) fn new(
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
