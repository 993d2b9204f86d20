//! The `RequestSchema` of a request type: each field's JSON Schema from its type, its serde
//! attributes and its `#[validate(...)]` rules. The generated code only builds JSON through
//! `::secure_api::__private`; bounds are the user's own expressions, evaluated at run time, so a
//! rule written with a constant (`range(max = MAX_PRICE)`) is documented with its value.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Attribute, Field, Ident, Type};

use super::parse::{LEAVES, STRINGS, serde_container_flag, skip_value, type_arguments};

/// `serde_json::json!`, through the runtime crate.
fn json(tokens: TokenStream) -> TokenStream {
    quote! { ::secure_api::__private::serde_json::json!(#tokens) }
}

/// `impl RequestSchema for Ident`: an object of the fields, no others (unknown fields are rejected).
pub(super) fn struct_impl(ident: &Ident, properties: &TokenStream, required: &[String]) -> TokenStream {
    let name = ident.to_string();
    let required = if required.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            __schema.insert(
                "required".to_owned(),
                ::secure_api::__private::serde_json::json!([#(#required),*]),
            );
        }
    };
    quote! {
        impl ::secure_api::__private::RequestSchema for #ident {
            const NAME: &'static str = #name;

            fn schema(
                __registry: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::secure_api::__private::serde_json::Value {
                let mut __properties = ::secure_api::__private::serde_json::Map::new();
                #properties
                let mut __schema = ::secure_api::__private::serde_json::Map::new();
                __schema.insert("type".to_owned(), ::secure_api::__private::serde_json::json!("object"));
                __schema.insert(
                    "properties".to_owned(),
                    ::secure_api::__private::serde_json::Value::Object(__properties),
                );
                #required
                __schema.insert("additionalProperties".to_owned(), ::secure_api::__private::serde_json::json!(false));
                ::secure_api::__private::serde_json::Value::Object(__schema)
            }
        }
    }
}

/// `#[serde(skip)]` / `#[serde(skip_deserializing)]`: not part of the request.
pub(super) fn skipped(attrs: &[Attribute]) -> bool {
    serde_container_flag(attrs, "skip") || serde_container_flag(attrs, "skip_deserializing")
}

/// A field the client must send: not an `Option`, no serde default; or `#[validate(required)]`.
pub(super) fn required(field: &Field, container_default: bool) -> bool {
    let optional = matches!(outer(&field.ty), Some(("Option", _)));
    let defaulted = container_default || serde_container_flag(&field.attrs, "default");
    (!optional && !defaulted) || rules(&field.attrs).required
}

/// One `__properties.insert(wire, schema)` statement, the field's rules applied to its schema.
/// `opaque`: a type that is not a known scalar or collection is documented as any value
/// (a `#[request(leaf)]` type, or one whose rules are skipped) rather than as a request type.
pub(super) fn property(wire: &str, field: &Field, opaque: bool) -> TokenStream {
    let base = type_schema(&field.ty, opaque);
    let found = rules(&field.attrs);
    let kind = value_kind(&field.ty);
    let set = |key: &str, value: TokenStream| {
        quote! { ::secure_api::__private::schema_set(&mut __field, #key, #value); }
    };
    let number = |expr: &TokenStream| quote! { ::secure_api::__private::schema_number(&(#expr)) };
    let mut statements = TokenStream::new();
    let (min_key, max_key) = match kind {
        ValueKind::Text => ("minLength", "maxLength"),
        ValueKind::List => ("minItems", "maxItems"),
        ValueKind::Map => ("minProperties", "maxProperties"),
        ValueKind::Other => ("", ""),
    };
    if !min_key.is_empty() {
        for bound in found.length_min.iter().chain(&found.length_equal) {
            statements.extend(set(min_key, number(bound)));
        }
        for bound in found.length_max.iter().chain(&found.length_equal) {
            statements.extend(set(max_key, number(bound)));
        }
    }
    for (key, bound) in &found.range {
        statements.extend(set(key, number(bound)));
    }
    if let Some(format) = found.format {
        statements.extend(set("format", quote!(::core::option::Option::Some(#format.into()))));
    }
    if let Some(description) = doc_text(&field.attrs) {
        statements.extend(set("description", quote!(::core::option::Option::Some(#description.into()))));
    }
    if let Some(pattern) = &found.pattern {
        statements.extend(set("pattern", quote! { ::secure_api::__private::schema_pattern(&#pattern) }));
    }
    quote! {
        {
            let mut __field = #base;
            #statements
            __properties.insert(#wire.to_owned(), __field);
        }
    }
}

/// The field's doc comment, one paragraph per blank line, for `description`.
fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }),
                ..
            }) => Some(text.value().trim().to_owned()),
            _ => None,
        })
        .collect();
    let text = lines.join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// What a `length` rule measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ValueKind {
    Text,
    List,
    Map,
    Other,
}

const LISTS: &[&str] = &["Vec", "VecDeque", "LinkedList", "BinaryHeap"];
const SETS: &[&str] = &["HashSet", "BTreeSet", "IndexSet"];
const MAPS: &[&str] = &["HashMap", "BTreeMap", "IndexMap"];

/// The last path segment's name and type arguments (`Option<T>` → `("Option", [T])`).
fn outer(ty: &Type) -> Option<(&'static str, Vec<&Type>)> {
    match ty {
        Type::Paren(inner) => outer(&inner.elem),
        Type::Group(inner) => outer(&inner.elem),
        Type::Path(path) => {
            let segment = path.path.segments.last()?;
            let name = segment.ident.to_string();
            let known = ["Option", "Box", "Arc", "Rc"]
                .into_iter()
                .chain(LEAVES.iter().copied())
                .chain(STRINGS.iter().copied())
                .chain(LISTS.iter().copied())
                .chain(SETS.iter().copied())
                .chain(MAPS.iter().copied())
                .find(|known| *known == name)?;
            Some((known, type_arguments(segment)))
        }
        _ => None,
    }
}

fn value_kind(ty: &Type) -> ValueKind {
    if let Type::Array(_) | Type::Tuple(_) = ty {
        return ValueKind::List;
    }
    match outer(ty) {
        Some(("Option" | "Box" | "Arc" | "Rc", arguments)) => {
            arguments.first().map_or(ValueKind::Other, |inner| value_kind(inner))
        }
        Some((name, _)) if STRINGS.contains(&name) => ValueKind::Text,
        Some((name, _)) if LISTS.contains(&name) || SETS.contains(&name) => ValueKind::List,
        Some((name, _)) if MAPS.contains(&name) => ValueKind::Map,
        _ => ValueKind::Other,
    }
}

/// The schema expression of a type (a `serde_json::Value`; `__registry` in scope).
fn type_schema(ty: &Type, opaque: bool) -> TokenStream {
    match ty {
        Type::Paren(inner) => return type_schema(&inner.elem, opaque),
        Type::Group(inner) => return type_schema(&inner.elem, opaque),
        Type::Array(array) => {
            let items = type_schema(&array.elem, opaque);
            let len = &array.len;
            return quote! {({
                let mut __array = ::secure_api::__private::serde_json::json!({"type": "array", "items": #items});
                ::secure_api::__private::schema_set(&mut __array, "minItems", ::secure_api::__private::schema_number(&(#len)));
                ::secure_api::__private::schema_set(&mut __array, "maxItems", ::secure_api::__private::schema_number(&(#len)));
                __array
            })};
        }
        Type::Tuple(tuple) if !tuple.elems.is_empty() => {
            let items = tuple.elems.iter().map(|elem| type_schema(elem, opaque));
            let count = tuple.elems.len();
            return json(
                quote!({"type": "array", "prefixItems": [#(#items),*], "minItems": #count, "maxItems": #count}),
            );
        }
        _ => {}
    }
    let Some((name, arguments)) = outer(ty) else {
        return nested(ty, opaque);
    };
    let first = arguments.first().copied();
    let last = arguments.last().copied();
    match name {
        "Option" => match first {
            Some(inner) => {
                let inner = type_schema(inner, opaque);
                quote! { ::secure_api::__private::schema_nullable(#inner) }
            }
            None => json(quote!({})),
        },
        "Box" | "Arc" | "Rc" => first.map_or_else(|| json(quote!({})), |inner| type_schema(inner, opaque)),
        _ if STRINGS.contains(&name) => json(quote!({"type": "string"})),
        _ if LISTS.contains(&name) || SETS.contains(&name) => {
            let items = last.map_or_else(|| json(quote!({})), |element| type_schema(element, opaque));
            if SETS.contains(&name) {
                json(quote!({"type": "array", "items": #items, "uniqueItems": true}))
            } else {
                json(quote!({"type": "array", "items": #items}))
            }
        }
        _ if MAPS.contains(&name) => {
            let values = last.map_or_else(|| json(quote!({})), |value| type_schema(value, opaque));
            json(quote!({"type": "object", "additionalProperties": #values}))
        }
        leaf => json(leaf_schema(leaf)),
    }
}

/// A nested request type's `$ref` (any value when it is opaque or has no schema).
fn nested(ty: &Type, opaque: bool) -> TokenStream {
    if opaque {
        return json(quote!({}));
    }
    let ty = ty.to_token_stream();
    // Parenthesized: `json!` would read a bare block as a JSON object.
    quote! {({
        #[allow(unused_imports)]
        use ::secure_api::__private::{NestedSchema as _, NoSchema as _};
        // The borrow picks the fallback when `#ty` has no schema (autoref).
        #[allow(clippy::needless_borrow)]
        let __nested = (&::secure_api::__private::SchemaOf::<#ty>::new()).nested_schema(__registry);
        __nested
    })}
}

/// The JSON form serde gives the scalars of [`LEAVES`].
fn leaf_schema(name: &str) -> TokenStream {
    match name {
        "bool" => quote!({"type": "boolean"}),
        "char" => quote!({"type": "string", "minLength": 1, "maxLength": 1}),
        "u8" => quote!({"type": "integer", "minimum": 0, "maximum": 255}),
        "u16" => quote!({"type": "integer", "minimum": 0, "maximum": 65535}),
        "u32" | "u64" | "u128" | "usize" => quote!({"type": "integer", "minimum": 0}),
        "i8" => quote!({"type": "integer", "minimum": -128, "maximum": 127}),
        "i16" => quote!({"type": "integer", "minimum": -32768, "maximum": 32767}),
        "i32" => quote!({"type": "integer", "format": "int32"}),
        "i64" => quote!({"type": "integer", "format": "int64"}),
        "i128" | "isize" => quote!({"type": "integer"}),
        "f32" => quote!({"type": "number", "format": "float"}),
        "f64" => quote!({"type": "number", "format": "double"}),
        _ if name.starts_with("NonZeroU") => quote!({"type": "integer", "minimum": 1}),
        _ if name.starts_with("NonZeroI") => quote!({"type": "integer", "not": {"const": 0}}),
        "Uuid" => quote!({"type": "string", "format": "uuid"}),
        "Ipv4Addr" => quote!({"type": "string", "format": "ipv4"}),
        "Ipv6Addr" => quote!({"type": "string", "format": "ipv6"}),
        "IpAddr" | "SocketAddr" => quote!({"type": "string"}),
        "DateTime" | "OffsetDateTime" => quote!({"type": "string", "format": "date-time"}),
        "NaiveDate" | "Date" => quote!({"type": "string", "format": "date"}),
        "NaiveTime" | "Time" => quote!({"type": "string", "format": "time"}),
        "Url" => quote!({"type": "string", "format": "uri"}),
        "NaiveDateTime" | "PrimitiveDateTime" => quote!({"type": "string"}),
        // Parsed by their own `Deserialize`, in more than one JSON form.
        _ => quote!({}),
    }
}

/// The documented parts of a field's `#[validate(...)]`.
#[derive(Default)]
struct SchemaRules {
    length_min: Option<TokenStream>,
    length_max: Option<TokenStream>,
    length_equal: Option<TokenStream>,
    range: Vec<(&'static str, TokenStream)>,
    format: Option<&'static str>,
    pattern: Option<TokenStream>,
    required: bool,
}

/// Reads the rules JSON Schema can state; the others (`custom`, `contains`, `must_match`, ...)
/// are enforced but not documented. Syntax errors are validator's to report.
fn rules(attrs: &[Attribute]) -> SchemaRules {
    let mut found = SchemaRules::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("validate")) {
        let _ = attr.parse_nested_meta(|meta| {
            let rule = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match rule.as_str() {
                "length" | "range" if meta.input.peek(syn::token::Paren) => {
                    meta.parse_nested_meta(|inner| {
                        let key = inner.path.get_ident().map(ToString::to_string).unwrap_or_default();
                        if !inner.input.peek(syn::Token![=]) {
                            return skip_value(&inner);
                        }
                        let value = inner.value()?.parse::<syn::Expr>()?.to_token_stream();
                        match (rule.as_str(), key.as_str()) {
                            ("length", "min") => found.length_min = Some(value),
                            ("length", "max") => found.length_max = Some(value),
                            ("length", "equal") => found.length_equal = Some(value),
                            ("range", "min") => found.range.push(("minimum", value)),
                            ("range", "max") => found.range.push(("maximum", value)),
                            ("range", "exclusive_min") => found.range.push(("exclusiveMinimum", value)),
                            ("range", "exclusive_max") => found.range.push(("exclusiveMaximum", value)),
                            _ => {}
                        }
                        Ok(())
                    })?;
                    return Ok(());
                }
                "regex" if meta.input.peek(syn::token::Paren) => {
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("path") {
                            found.pattern = Some(inner.value()?.parse::<syn::Expr>()?.to_token_stream());
                            Ok(())
                        } else {
                            skip_value(&inner)
                        }
                    })?;
                    return Ok(());
                }
                "email" => found.format = Some("email"),
                "url" => found.format = Some("uri"),
                "required" | "required_nested" => found.required = true,
                _ => {}
            }
            skip_value(&meta)
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn length_rules_measure_what_the_type_is() {
        assert_eq!(value_kind(&ty("Option<String>")), ValueKind::Text);
        assert_eq!(value_kind(&ty("Vec<Item>")), ValueKind::List);
        assert_eq!(value_kind(&ty("std::collections::BTreeSet<u8>")), ValueKind::List);
        assert_eq!(value_kind(&ty("HashMap<String, u8>")), ValueKind::Map);
        assert_eq!(value_kind(&ty("u32")), ValueKind::Other);
    }

    #[test]
    fn reads_the_documented_rules() {
        let field: syn::FieldsNamed = syn::parse_quote!({
            #[validate(length(min = 1, max = MAX), email, regex(path = *RE, code = "x"), range(exclusive_min = 0.0))]
            #[validate(required, custom(function = "f"))]
            a: Option<String>,
        });
        let found = rules(&field.named[0].attrs);
        assert_eq!(found.length_min.map(|v| v.to_string()).as_deref(), Some("1"));
        assert_eq!(found.length_max.map(|v| v.to_string()).as_deref(), Some("MAX"));
        assert_eq!(found.format, Some("email"));
        assert_eq!(found.pattern.map(|v| v.to_string()).as_deref(), Some("* RE"));
        assert_eq!(found.range.first().map(|(key, v)| (*key, v.to_string())), Some(("exclusiveMinimum", "0.0".into())));
        assert!(found.required);
        assert!(required(&field.named[0], false));
    }

    #[test]
    fn optional_and_defaulted_fields_are_not_required() {
        let fields: syn::FieldsNamed = syn::parse_quote!({
            a: Option<u8>,
            #[serde(default)]
            b: u8,
            c: u8,
            #[serde(skip_deserializing)]
            d: u8,
        });
        let named: Vec<&Field> = fields.named.iter().collect();
        assert!(!required(named[0], false) && !required(named[1], false) && required(named[2], false));
        assert!(!required(named[2], true));
        assert!(skipped(&named[3].attrs) && !skipped(&named[2].attrs));
    }

    #[test]
    fn doc_comments_become_descriptions() {
        let fields: syn::FieldsNamed = syn::parse_quote!({
            /// 1 to 100 characters.
            ///
            /// Shown to buyers.
            a: String,
            b: u8,
        });
        let named: Vec<&Field> = fields.named.iter().collect();
        assert_eq!(doc_text(&named[0].attrs).as_deref(), Some("1 to 100 characters.\n\nShown to buyers."));
        assert_eq!(doc_text(&named[1].attrs), None);
    }
}
