//! `#[secure_api::request]`: declares a request type.
//!
//! An attribute rather than a derive, because it must add to the item: it adds
//! `#[derive(Deserialize, Serialize, Validate)]` through `::secure_api::__private` (so
//! applications need not depend on serde or validator; `Serialize` because validator's rules
//! record the failing value) and `#[serde(deny_unknown_fields)]` (mass assignment, OWASP API3).
//! It implements `ValidateInput`: the field rules through validator, then every nested request
//! type (`Address`, `Vec<LineItem>`, `Option<...>`) through its own `ValidateInput`, always, so
//! a nested type's rules cannot be skipped by forgetting validator's `nested`. It refuses at
//! compile time any unbounded field (`String`, `Vec`, maps, sets) without
//! `#[validate(length(max = ...))]`.
//!
//! A field type that is neither a known scalar nor a known collection is taken to be a nested
//! request type; mark it `#[request(leaf)]` when it is a plain value with its own parsing (an
//! enum from another crate, a date).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, Field, Fields, GenericArgument, Item, ItemEnum, ItemStruct, LitStr, PathArguments, Type};

use crate::ctxt::Ctxt;

mod schema;

/// Expands the attribute. On errors the item is still expanded when its shape allows, so the
/// only errors the user sees are the ones that matter.
pub(crate) fn attribute(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    if !attr.is_empty() {
        cx.error_spanned_by(&attr, "`#[secure_api::request]` takes no arguments");
    }
    let expanded = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(item)) => expand_struct(item, &mut cx),
        Ok(Item::Enum(item)) => expand_enum(item, &mut cx),
        _ => {
            cx.error_spanned_by(
                &item,
                "`#[secure_api::request]` applies to a struct with named fields, or an enum of unit variants",
            );
            item
        }
    };
    let errors = cx.into_compile_errors();
    quote! { #expanded #errors }
}

/// The attributes every request type gets.
fn serde_attributes(attrs: &[Attribute], cx: &mut Ctxt) -> TokenStream {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Deserialize" || segment.ident == "Validate")
            {
                cx.error_spanned_by(
                    &meta.path,
                    "`#[secure_api::request]` derives this itself: remove it from `#[derive(...)]`",
                );
            }
            Ok(())
        });
    }
    let denies_unknown = serde_container_flag(attrs, "deny_unknown_fields");
    let deny = if denies_unknown { quote!() } else { quote!(#[serde(deny_unknown_fields)]) };
    // validator's rules record the failing value as a parameter, which needs `Serialize` (a
    // length rule on `Vec<Item>` serializes the items). Added unless the user derives it.
    let serialize = if derives(attrs, "Serialize") {
        quote!()
    } else {
        quote!(#[derive(::secure_api::__private::serde::Serialize)])
    };
    // A user's own derive has been reported above; not adding ours keeps that the only error.
    let deserialize = if derives(attrs, "Deserialize") {
        quote!()
    } else {
        quote!(#[derive(::secure_api::__private::serde::Deserialize)])
    };
    quote! {
        #deserialize
        #serialize
        #[serde(crate = "::secure_api::__private::serde")]
        #deny
    }
}

fn expand_struct(mut item: ItemStruct, cx: &mut Ctxt) -> TokenStream {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "request types cannot have generic parameters: declare a concrete struct");
        return item.into_token_stream();
    }
    let Fields::Named(fields) = &mut item.fields else {
        cx.error_spanned_by(&item.fields, "request types need named fields: `struct NewItem { name: String }`");
        return item.into_token_stream();
    };
    let rename_all = serde_rename_all(&item.attrs);
    let container_default = serde_container_flag(&item.attrs, "default");
    let mut properties = TokenStream::new();
    let mut required = Vec::new();
    let mut names = Vec::new();
    let mut nested_checks = TokenStream::new();
    let mut follow_on_guard = TokenStream::new();
    for field in fields.named.iter_mut() {
        let plan = field_plan(field, cx);
        if let Some(what) = plan.unbounded
            && !plan.rules.has_upper_bound
        {
            let name = field.ident.as_ref().map(ToString::to_string).unwrap_or_default();
            let ident = &field.ident;
            let ty = &field.ty;
            cx.error_spanned_by(
                quote!(#ident #ty),
                format_args!(
                    "`{name}` is {what} without an upper bound: add `#[validate(length(max = ...))]` so a client cannot send an unbounded value"
                ),
            );
        }
        if let Some(message) = plan.unboundable {
            cx.error_spanned_by(&field.ty, message);
        }
        let rust =
            field.ident.as_ref().map(|ident| ident.to_string().trim_start_matches("r#").to_owned()).unwrap_or_default();
        let wire = serde_field_rename(&field.attrs).unwrap_or_else(|| apply_rename_all(&rust, rename_all.as_deref()));
        if let Some(span) = plan.rules.nested {
            cx.syn_error(syn::Error::new(
                span,
                "nested request types are validated automatically in `#[secure_api::request]` types: remove `nested`",
            ));
            // validator's `nested` calls `.validate()` by method syntax; with its trait in scope
            // the error above is the only one.
            follow_on_guard = quote!(
                use ::secure_api::__private::validator::Validate as _;
            );
        }
        if plan.nested.is_some() && !plan.rules.skip {
            // Spanned on the field's type: a nested type that is not a request type is
            // reported there.
            let ident = &field.ident;
            let span = field.ty.span();
            nested_checks.extend(quote_spanned! {span=>
                ::secure_api::__private::validate_nested(&mut errors, #wire, &self.#ident);
            });
        }
        if !schema::skipped(&field.attrs) {
            let opaque = plan.nested.is_none() || plan.rules.skip;
            properties.extend(schema::property(&wire, field, opaque));
            if schema::required(field, container_default) {
                required.push(wire.clone());
            }
        }
        names.push(quote! {
            ::secure_api::__private::FieldName { rust: #rust, wire: #wire }
        });
    }
    let serde = serde_attributes(&item.attrs, cx);
    let validate = if derives(&item.attrs, "Validate") {
        quote!()
    } else {
        quote! {
            #[derive(::secure_api::__private::validator::Validate)]
            #[validate(crate = "::secure_api::__private::validator")]
        }
    };
    let ident = &item.ident;
    let request_schema = schema::struct_impl(ident, &properties, &required);
    quote! {
        #follow_on_guard
        #serde
        #validate
        #item

        impl ::secure_api::__private::ValidateInput for #ident {
            fn validate_input(&self) -> ::core::result::Result<(), ::std::vec::Vec<::secure_api::__private::FieldError>> {
                let mut errors = match ::secure_api::__private::check_rules(
                    self,
                    <Self as ::secure_api::__private::ValidateInput>::field_names(),
                ) {
                    ::core::result::Result::Ok(()) => ::std::vec::Vec::new(),
                    ::core::result::Result::Err(errors) => errors,
                };
                #nested_checks
                if errors.is_empty() { ::core::result::Result::Ok(()) } else { ::core::result::Result::Err(errors) }
            }

            fn field_names() -> &'static [::secure_api::__private::FieldName] {
                const NAMES: &[::secure_api::__private::FieldName] = &[#(#names),*];
                NAMES
            }

            fn request_schema(
                registry: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::core::option::Option<::secure_api::__private::serde_json::Value> {
                ::core::option::Option::Some(registry.reference::<Self>())
            }
        }

        #request_schema
    }
}

fn expand_enum(item: ItemEnum, cx: &mut Ctxt) -> TokenStream {
    if !item.generics.params.is_empty() {
        cx.error_spanned_by(&item.generics, "request types cannot have generic parameters: declare a concrete enum");
        return item.into_token_stream();
    }
    for variant in &item.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                variant,
                "request enums take unit variants only (`Retail`, `Wholesale`); carry data in a request struct",
            );
        }
    }
    let serde = serde_attributes(&item.attrs, cx);
    let ident = &item.ident;
    let rename_all = serde_rename_all(&item.attrs);
    let variants: Vec<String> = item
        .variants
        .iter()
        .map(|variant| {
            serde_field_rename(&variant.attrs)
                .unwrap_or_else(|| schema::rename_variant(&variant.ident.to_string(), rename_all.as_deref()))
        })
        .collect();
    let name = ident.to_string();
    quote! {
        #serde
        #item

        impl ::secure_api::__private::RequestSchema for #ident {
            const NAME: &'static str = #name;

            fn schema(
                _: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::secure_api::__private::serde_json::Value {
                ::secure_api::__private::serde_json::json!({"type": "string", "enum": [#(#variants),*]})
            }
        }

        // A unit variant is valid once it parsed; these let it be a nested field of a request.
        impl ::secure_api::__private::validator::Validate for #ident {
            fn validate(&self) -> ::core::result::Result<(), ::secure_api::__private::validator::ValidationErrors> {
                ::core::result::Result::Ok(())
            }
        }

        impl ::secure_api::__private::ValidateInput for #ident {
            fn validate_input(&self) -> ::core::result::Result<(), ::std::vec::Vec<::secure_api::__private::FieldError>> {
                ::core::result::Result::Ok(())
            }

            fn request_schema(
                registry: &mut ::secure_api::__private::SchemaRegistry,
            ) -> ::core::option::Option<::secure_api::__private::serde_json::Value> {
                ::core::option::Option::Some(registry.reference::<Self>())
            }
        }
    }
}

/// What a field needs, found from its type and attributes.
struct FieldPlan {
    /// "a `String`", "a `Vec`": the field has no size of its own.
    unbounded: Option<&'static str>,
    /// A type that cannot take a length rule at all.
    unboundable: Option<&'static str>,
    /// The nested request type whose rules must run (`Item` for `Vec<Item>`).
    nested: Option<Type>,
    rules: Rules,
}

/// The `#[validate(...)]` facts that matter here.
#[derive(Default)]
struct Rules {
    has_upper_bound: bool,
    /// Where the user wrote validator's `nested` (ours is automatic).
    nested: Option<proc_macro2::Span>,
    skip: bool,
}

fn field_plan(field: &mut Field, cx: &mut Ctxt) -> FieldPlan {
    let leaf = take_request_attrs(field, cx);
    let rules = validate_rules(&field.attrs, cx);
    let shape = shape(&field.ty);
    FieldPlan {
        unbounded: shape.unbounded,
        unboundable: shape.unboundable,
        nested: if leaf { None } else { shape.nested },
        rules: Rules { has_upper_bound: rules.has_upper_bound && !rules.skip, ..rules },
    }
}

/// Removes `#[request(...)]` from the field (it is ours, not a real attribute); returns whether
/// it said `leaf`.
fn take_request_attrs(field: &mut Field, cx: &mut Ctxt) -> bool {
    let mut leaf = false;
    let mut kept = Vec::with_capacity(field.attrs.len());
    for attr in std::mem::take(&mut field.attrs) {
        if !attr.path().is_ident("request") {
            kept.push(attr);
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("leaf") {
                leaf = true;
                Ok(())
            } else {
                Err(meta.error("expected `#[request(leaf)]`"))
            }
        });
        if let Err(error) = parsed {
            cx.syn_error(error);
        }
    }
    field.attrs = kept;
    leaf
}

/// Reads `#[validate(...)]` for an upper length bound, `nested` and `skip`, consuming every
/// other rule whatever its form (`email`, `range(min = 1)`, `regex(path = *RE)`).
fn validate_rules(attrs: &[Attribute], cx: &mut Ctxt) -> Rules {
    let mut rules = Rules::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("validate")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("nested") {
                rules.nested = Some(meta.path.span());
            } else if meta.path.is_ident("skip") {
                rules.skip = true;
            } else if meta.path.is_ident("length") && meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("max") || inner.path.is_ident("equal") {
                        rules.has_upper_bound = true;
                    }
                    skip_value(&inner)
                })?;
                return Ok(());
            }
            skip_value(&meta)
        });
        if let Err(error) = parsed {
            cx.syn_error(error);
        }
    }
    rules
}

/// Consumes `= value` or `(...)` after a rule name; validator checks their contents.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// How a type is built, for the bound and nesting rules.
#[derive(Default)]
struct Shape {
    unbounded: Option<&'static str>,
    unboundable: Option<&'static str>,
    nested: Option<Type>,
}

/// Types with a fixed size, or whose parsing bounds them: no rule needed, no nesting.
const LEAVES: &[&str] = &[
    "bool",
    "char",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "NonZeroU8",
    "NonZeroU16",
    "NonZeroU32",
    "NonZeroU64",
    "NonZeroU128",
    "NonZeroUsize",
    "NonZeroI8",
    "NonZeroI16",
    "NonZeroI32",
    "NonZeroI64",
    "NonZeroI128",
    "NonZeroIsize",
    "Uuid",
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "DateTime",
    "NaiveDate",
    "NaiveDateTime",
    "NaiveTime",
    "Date",
    "Time",
    "OffsetDateTime",
    "PrimitiveDateTime",
    "Decimal",
    "Duration",
    "Url",
];

/// Text without a size of its own.
const STRINGS: &[&str] = &["String", "str", "Cow", "Bytes", "BytesMut", "ByteBuf", "OsString", "PathBuf"];

/// Collections: the element type is the last type argument (`Vec<T>`, `HashMap<K, V>`).
const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "LinkedList",
    "HashMap",
    "BTreeMap",
    "HashSet",
    "BTreeSet",
    "BinaryHeap",
    "IndexMap",
    "IndexSet",
];

fn type_arguments(segment: &syn::PathSegment) -> Vec<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(arguments) => arguments
            .args
            .iter()
            .filter_map(|argument| match argument {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn shape(ty: &Type) -> Shape {
    match ty {
        Type::Paren(inner) => shape(&inner.elem),
        Type::Group(inner) => shape(&inner.elem),
        Type::Reference(_) | Type::Slice(_) => {
            Shape { unbounded: Some("a borrowed slice or string"), ..Shape::default() }
        }
        Type::Array(array) => Shape { nested: shape(&array.elem).nested, ..Shape::default() },
        Type::Tuple(tuple) => {
            if tuple.elems.iter().any(|elem| shape(elem).unbounded.is_some()) {
                Shape {
                    unboundable: Some(
                        "a tuple holding a `String` or a collection cannot take a length rule: use a request struct",
                    ),
                    ..Shape::default()
                }
            } else {
                Shape::default()
            }
        }
        Type::Path(path) => {
            let Some(segment) = path.path.segments.last() else {
                return Shape::default();
            };
            let name = segment.ident.to_string();
            let qualified = path.path.segments.iter().any(|segment| segment.ident == "serde_json");
            if qualified && (name == "Value" || name == "Map") {
                return Shape {
                    unboundable: Some(
                        "`serde_json::Value` accepts any JSON of any size and cannot take a length rule: declare a request type for it",
                    ),
                    ..Shape::default()
                };
            }
            let arguments = type_arguments(segment);
            match name.as_str() {
                // Validator's rules apply to the value inside.
                "Option" | "Box" | "Arc" | "Rc" => arguments.first().map(|inner| shape(inner)).unwrap_or_default(),
                _ if LEAVES.contains(&name.as_str()) => Shape::default(),
                _ if STRINGS.contains(&name.as_str()) => Shape { unbounded: Some("a string"), ..Shape::default() },
                _ if COLLECTIONS.contains(&name.as_str()) => Shape {
                    unbounded: Some("a collection"),
                    // The elements' own strings are bounded by the route's body limit; nested
                    // request types among them still get their rules.
                    nested: arguments.last().and_then(|element| shape(element).nested),
                    ..Shape::default()
                },
                _ => Shape { nested: Some(ty.clone()), ..Shape::default() },
            }
        }
        _ => Shape::default(),
    }
}

/// Whether `#[derive(...)]` names `trait_name` (by its last path segment).
fn derives(attrs: &[Attribute], trait_name: &str) -> bool {
    let mut found = false;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.segments.last().is_some_and(|segment| segment.ident == trait_name) {
                found = true;
            }
            Ok(())
        });
    }
    found
}

/// Whether `#[serde(flag)]` is set on the container.
fn serde_container_flag(attrs: &[Attribute], flag: &str) -> bool {
    let mut found = false;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(flag) {
                found = true;
            }
            skip_value(&meta)
        });
    }
    found
}

/// The `rename` of `#[serde(rename = "x")]` or `#[serde(rename(deserialize = "x"))]`.
fn serde_rename_value(attrs: &[Attribute], key: &str) -> Option<String> {
    let mut value = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) {
                if meta.input.peek(syn::Token![=]) {
                    value = Some(meta.value()?.parse::<LitStr>()?.value());
                } else if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("deserialize") {
                            value = Some(inner.value()?.parse::<LitStr>()?.value());
                            Ok(())
                        } else {
                            skip_value(&inner)
                        }
                    })?;
                }
                return Ok(());
            }
            skip_value(&meta)
        });
    }
    value
}

fn serde_field_rename(attrs: &[Attribute]) -> Option<String> {
    serde_rename_value(attrs, "rename")
}

fn serde_rename_all(attrs: &[Attribute]) -> Option<String> {
    serde_rename_value(attrs, "rename_all")
}

/// serde's `rename_all` rules, applied to a snake_case field name.
fn apply_rename_all(field: &str, rule: Option<&str>) -> String {
    let words = || field.split('_').filter(|word| !word.is_empty());
    let capitalize = |word: &str| {
        let mut chars = word.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
    };
    match rule {
        Some("lowercase") => field.to_lowercase(),
        Some("UPPERCASE") => field.to_uppercase(),
        Some("PascalCase") => words().map(capitalize).collect(),
        Some("camelCase") => {
            let pascal: String = words().map(capitalize).collect();
            let mut chars = pascal.chars();
            chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
        Some("SCREAMING_SNAKE_CASE") => field.to_uppercase(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => field.to_uppercase().replace('_', "-"),
        _ => field.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn bounds_and_nesting_by_type() {
        assert!(shape(&ty("String")).unbounded.is_some());
        assert!(shape(&ty("Option<String>")).unbounded.is_some());
        assert!(shape(&ty("std::collections::HashMap<String, u32>")).unbounded.is_some());
        assert!(shape(&ty("u64")).unbounded.is_none() && shape(&ty("u64")).nested.is_none());
        assert!(shape(&ty("uuid::Uuid")).nested.is_none());
        assert!(shape(&ty("serde_json::Value")).unboundable.is_some());
        assert!(shape(&ty("(String, u8)")).unboundable.is_some());
        let list = shape(&ty("Vec<LineItem>"));
        assert!(list.unbounded.is_some());
        assert_eq!(list.nested.map(|nested| nested.to_token_stream().to_string()), Some("LineItem".to_owned()));
        let optional = shape(&ty("Option<Address>"));
        assert_eq!(optional.nested.map(|nested| nested.to_token_stream().to_string()), Some("Address".to_owned()));
    }

    #[test]
    fn reads_length_bounds_nested_and_skip() {
        let mut cx = Ctxt::default();
        let field: syn::FieldsNamed = syn::parse_quote!({
            #[validate(email, length(min = 1, max = 100), regex(path = *RE))]
            a: String,
        });
        let rules = validate_rules(&field.named[0].attrs, &mut cx);
        assert!(rules.has_upper_bound && rules.nested.is_none() && !rules.skip);
        let field: syn::FieldsNamed = syn::parse_quote!({
            #[validate(length(min = 1))]
            #[validate(nested)]
            a: Vec<Item>,
        });
        let rules = validate_rules(&field.named[0].attrs, &mut cx);
        assert!(!rules.has_upper_bound && rules.nested.is_some());
        assert!(!cx.has_errors());
    }

    #[test]
    fn wire_names_follow_serde() {
        assert_eq!(apply_rename_all("unit_price", Some("camelCase")), "unitPrice");
        assert_eq!(apply_rename_all("unit_price", Some("PascalCase")), "UnitPrice");
        assert_eq!(apply_rename_all("unit_price", Some("kebab-case")), "unit-price");
        assert_eq!(apply_rename_all("unit_price", Some("SCREAMING_SNAKE_CASE")), "UNIT_PRICE");
        assert_eq!(apply_rename_all("unit_price", None), "unit_price");
        let attrs: syn::FieldsNamed =
            syn::parse_quote!({ #[serde(default, rename = "sku")] a: u8, #[serde(rename(deserialize = "in"))] b: u8 });
        assert_eq!(serde_field_rename(&attrs.named[0].attrs).as_deref(), Some("sku"));
        assert_eq!(serde_field_rename(&attrs.named[1].attrs).as_deref(), Some("in"));
    }
}
