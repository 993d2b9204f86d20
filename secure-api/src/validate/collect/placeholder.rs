//! The stand-in handed to a visitor where a value is missing or of the wrong type.

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

use super::error::{CollectError, missing};
use super::learn::Sink;
use super::path::Path;

/// Stands in for a value that is missing or of the wrong type, so serde's visitor can finish
/// and the rest of the input is still checked. Yields the "emptiest" value of whatever kind is
/// asked for. With `report_missing`, it first records `missing` (for required fields learned in
/// an earlier pass); an `Option` asking for it gets `None` and no error.
#[derive(Clone, Copy)]
pub(super) struct Placeholder<'a> {
    pub(super) path: &'a Path<'a>,
    pub(super) sink: &'a Sink<'a>,
    pub(super) report_missing: bool,
}

impl Placeholder<'_> {
    pub(super) fn quiet(self) -> Self {
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
