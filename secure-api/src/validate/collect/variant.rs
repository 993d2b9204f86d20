//! Enums, as serde_json writes them: `"Variant"` for a unit variant, `{"Variant": content}`
//! otherwise. The variant name was checked by the walker before these run.

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde_json::Value;

use super::error::CollectError;
use super::path::Path;
use super::value::De;
use crate::validate::error::FieldError;

pub(super) struct EnumAccess<'de, 'a> {
    pub(super) variant: &'de str,
    pub(super) content: Option<&'de Value>,
    pub(super) de: De<'de, 'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'de, 'a> {
    type Error = CollectError;
    type Variant = VariantAccess<'de, 'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), CollectError> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::<CollectError>::new(self.variant))?;
        Ok((variant, VariantAccess { variant: self.variant, content: self.content, de: self.de }))
    }
}

pub(super) struct VariantAccess<'de, 'a> {
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
