//! [`RequestSchema`]: the JSON Schema of a request type, with its validation rules, so the
//! OpenAPI document states exactly what the `validate` step enforces.
//!
//! `#[secure_api::request]` implements it from the fields, their serde names and their
//! `#[validate(...)]` rules (`length` → `minLength`/`maxLength` or `minItems`/`maxItems`,
//! `range` → `minimum`/`maximum`, `email` → `format: email`, `regex` → `pattern`, ...), and
//! `additionalProperties: false` because unknown fields are rejected. The schema is plain JSON
//! (JSON Schema 2020-12, the dialect of OpenAPI 3.1), so this needs no OpenAPI library.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// A request type whose JSON Schema (2020-12, the dialect of OpenAPI 3.1) is known, rules
/// included, for the OpenAPI document's request bodies.
///
/// `#[secure_api::request]` implements it from the fields, their serde names and their
/// `#[validate(...)]` rules: `length` → `minLength`/`maxLength` (strings), `minItems`/`maxItems`
/// (lists, sets), `minProperties`/`maxProperties` (maps); `range` → `minimum`/`maximum`/
/// `exclusiveMinimum`/`exclusiveMaximum`; `email` → `format: email`; `url` → `format: uri`;
/// `regex` → `pattern`; `required` → listed in `required`. Fields that are not `Option` and have
/// no serde default are `required`; `additionalProperties: false` because unknown fields are
/// rejected; a nested request type is a `$ref`. Rules JSON Schema cannot state (`custom`,
/// `must_match`, ...) are enforced but not documented.
///
/// # Examples
/// ```
/// use secure_api::validate::{RequestSchema, SchemaRegistry};
///
/// #[secure_api::request]
/// struct NewItem {
///     #[validate(length(min = 1, max = 100))]
///     name: String,
///     #[validate(range(min = 1, max = 1000))]
///     quantity: u32,
/// }
///
/// let mut registry = SchemaRegistry::new();
/// let schema = NewItem::schema(&mut registry);
/// assert_eq!(schema["properties"]["name"]["maxLength"], 100);
/// assert_eq!(schema["properties"]["quantity"]["minimum"], 1);
/// assert_eq!(schema["additionalProperties"], false);
/// ```
pub trait RequestSchema {
    /// The name of the schema under `components.schemas` (the type's name).
    const NAME: &'static str;

    /// The type's schema; nested request types are referenced through `registry`.
    fn schema(registry: &mut SchemaRegistry) -> Value;
}

/// The schemas of request types met while documenting, by name: each is built once and
/// referenced as `#/components/schemas/<name>`, so recursive types terminate.
///
/// # Examples
/// ```
/// use secure_api::validate::SchemaRegistry;
///
/// #[secure_api::request]
/// struct Address {
///     #[validate(length(max = 80))]
///     street: String,
/// }
///
/// let mut registry = SchemaRegistry::new();
/// let reference = registry.reference::<Address>();
/// assert_eq!(reference["$ref"], "#/components/schemas/Address");
/// assert!(registry.schemas().contains_key("Address"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct SchemaRegistry {
    schemas: BTreeMap<String, Value>,
}

impl SchemaRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `$ref` to `T`'s schema, building and recording it the first time.
    pub fn reference<T: RequestSchema + ?Sized>(&mut self) -> Value {
        if !self.schemas.contains_key(T::NAME) {
            // A placeholder first: a type that contains itself refers to the entry being built.
            self.schemas.insert(T::NAME.to_owned(), Value::Bool(true));
            let schema = T::schema(self);
            self.schemas.insert(T::NAME.to_owned(), schema);
        }
        let mut reference = Map::new();
        reference.insert("$ref".to_owned(), Value::String(format!("#/components/schemas/{}", T::NAME)));
        Value::Object(reference)
    }

    /// Every schema recorded so far, by name.
    pub fn schemas(&self) -> &BTreeMap<String, Value> {
        &self.schemas
    }

    /// The recorded schemas, by name.
    pub fn into_schemas(self) -> BTreeMap<String, Value> {
        self.schemas
    }
}

/// A rule's bound as JSON (`range(max = MAX_PRICE)` may name a constant); a value that is not
/// a JSON number is left out rather than documented wrongly.
#[doc(hidden)]
pub fn schema_number<T: Serialize + ?Sized>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok().filter(Value::is_number)
}

/// Sets `key` on a schema object when `value` is known.
#[doc(hidden)]
pub fn schema_set(schema: &mut Value, key: &str, value: Option<Value>) {
    if let (Value::Object(object), Some(value)) = (schema, value) {
        object.insert(key.to_owned(), value);
    }
}

/// The `pattern` of `regex(path = RE)`, from the same expression validator checks with.
#[doc(hidden)]
pub fn schema_pattern(regex: impl validator::AsRegex) -> Option<Value> {
    Some(Value::String(regex.as_regex().as_str().to_owned()))
}

/// The schema of a nested field's type `T`, through its [`ValidateInput`](super::ValidateInput)
/// when it has one, else any value. Resolved by method lookup on `&SchemaOf<T>` (the
/// "autoref" pattern), so a nested type that is not a request type gets no second error here:
/// `validate_nested` already reports it on the field.
#[doc(hidden)]
pub struct SchemaOf<T: ?Sized>(std::marker::PhantomData<T>);

impl<T: ?Sized> SchemaOf<T> {
    /// The probe for `T`.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T: ?Sized> Default for SchemaOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen first: `T` validates, and may have a schema.
#[doc(hidden)]
pub trait NestedSchema {
    /// `T`'s schema, or any value.
    fn nested_schema(&self, registry: &mut SchemaRegistry) -> Value;

    /// `T`'s schema as a request body, when it has one.
    fn body_schema(&self, registry: &mut SchemaRegistry) -> Option<Value>;
}

impl<T: super::ValidateInput> NestedSchema for SchemaOf<T> {
    fn nested_schema(&self, registry: &mut SchemaRegistry) -> Value {
        T::request_schema(registry).unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn body_schema(&self, registry: &mut SchemaRegistry) -> Option<Value> {
        T::request_schema(registry)
    }
}

/// The fallback: any value.
#[doc(hidden)]
pub trait NoSchema {
    /// Any value (`{}`).
    fn nested_schema(&self, registry: &mut SchemaRegistry) -> Value {
        let _ = registry;
        Value::Object(Map::new())
    }

    /// None.
    fn body_schema(&self, registry: &mut SchemaRegistry) -> Option<Value> {
        let _ = registry;
        None
    }
}

impl<T: ?Sized> NoSchema for &SchemaOf<T> {}

/// An `Option<T>` field's schema: `T`'s, or `null` (serde accepts `null` for `None`).
#[doc(hidden)]
pub fn schema_nullable(schema: Value) -> Value {
    let mut schema = schema;
    if let Value::Object(object) = &mut schema
        && let Some(Value::String(kind)) = object.get("type")
    {
        let kind = Value::String(kind.clone());
        object.insert("type".to_owned(), Value::Array(vec![kind, Value::String("null".to_owned())]));
        return schema;
    }
    serde_json::json!({"anyOf": [schema, {"type": "null"}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Node;

    impl RequestSchema for Node {
        const NAME: &'static str = "Node";
        fn schema(registry: &mut SchemaRegistry) -> Value {
            serde_json::json!({"type": "object", "properties": {"next": registry.reference::<Node>()}})
        }
    }

    #[test]
    fn a_recursive_type_is_built_once_and_refers_to_itself() {
        let mut registry = SchemaRegistry::new();
        let reference = registry.reference::<Node>();
        assert_eq!(reference, serde_json::json!({"$ref": "#/components/schemas/Node"}));
        assert_eq!(registry.schemas().get("Node").map(|schema| &schema["properties"]["next"]), Some(&reference));
    }

    #[test]
    fn bounds_that_are_not_numbers_are_left_out() {
        assert_eq!(schema_number(&5_u32), Some(Value::from(5)));
        assert_eq!(schema_number("five"), None);
        let mut schema = serde_json::json!({});
        schema_set(&mut schema, "maximum", schema_number(&2.5_f64));
        schema_set(&mut schema, "minimum", None);
        assert_eq!(schema, serde_json::json!({"maximum": 2.5}));
    }

    #[test]
    fn optional_values_also_accept_null() {
        use serde_json::json;
        assert_eq!(schema_nullable(json!({"type": "string"})), json!({"type": ["string", "null"]}));
        let reference = json!({"$ref": "#/components/schemas/Address"});
        assert_eq!(schema_nullable(reference.clone()), json!({"anyOf": [reference, {"type": "null"}]}));
    }

    #[test]
    // The borrow is the point: it selects the implementation the macro's expansion gets.
    #[allow(clippy::needless_borrow)]
    fn a_nested_type_without_a_schema_is_any_value() {
        struct Plain;
        let mut registry = SchemaRegistry::new();
        assert_eq!((&SchemaOf::<Plain>::new()).nested_schema(&mut registry), serde_json::json!({}));
        assert_eq!((&SchemaOf::<u64>::new()).nested_schema(&mut registry), serde_json::json!({}));
        assert_eq!((&SchemaOf::<Plain>::new()).body_schema(&mut registry), None);
    }

    #[test]
    fn a_regex_rule_documents_its_pattern() {
        let regex = regex::Regex::new("^[a-z]+$").unwrap();
        assert_eq!(schema_pattern(&regex), Some(Value::String("^[a-z]+$".to_owned())));
    }
}
