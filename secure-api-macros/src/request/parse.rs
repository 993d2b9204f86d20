//! Reading a request type: each field's `#[request(...)]` and `#[validate(...)]` attributes,
//! the shape of its type (bounded, unbounded, nested), the container's serde attributes, and
//! the name serde reads each field under. No rule is applied here (`check.rs` does that).

use proc_macro2::TokenStream;
use syn::spanned::Spanned as _;
use syn::{Attribute, Field, GenericArgument, LitStr, PathArguments, Type};

use super::case::RenameRule;
use crate::ctxt::Ctxt;

/// What a field needs, found from its type and attributes.
pub(super) struct FieldPlan {
    /// The field's Rust name, without `r#`.
    pub(super) rust: String,
    /// The name serde reads it under: its `rename`, else the container's `rename_all` applied.
    pub(super) wire: String,
    /// "a `String`", "a `Vec`": the field has no size of its own.
    pub(super) unbounded: Option<&'static str>,
    /// A type that cannot take a length rule at all.
    pub(super) unboundable: Option<&'static str>,
    /// The nested request type whose rules must run (`Item` for `Vec<Item>`).
    pub(super) nested: Option<Type>,
    pub(super) rules: Rules,
}

/// The `#[validate(...)]` facts that matter here.
#[derive(Default)]
pub(super) struct Rules {
    pub(super) has_upper_bound: bool,
    /// Where the user wrote validator's `nested` (ours is automatic).
    pub(super) nested: Option<proc_macro2::Span>,
    pub(super) skip: bool,
}

/// Reads one field: removes its `#[request(...)]` attributes (ours, not real attributes),
/// reads its `#[validate(...)]` rules and its type, and names it as serde will. Syntax errors in
/// those attributes are recorded in `cx`.
pub(super) fn field(field: &mut Field, rename_all: RenameRule, cx: &mut Ctxt) -> FieldPlan {
    let leaf = take_request_attrs(field, cx);
    let rules = validate_rules(&field.attrs, cx);
    let shape = shape(&field.ty);
    let rust =
        field.ident.as_ref().map(|ident| ident.to_string().trim_start_matches("r#").to_owned()).unwrap_or_default();
    let wire = serde_field_rename(&field.attrs).unwrap_or_else(|| rename_all.apply_to_field(&rust));
    FieldPlan {
        rust,
        wire,
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
pub(super) fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
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
pub(super) struct Shape {
    pub(super) unbounded: Option<&'static str>,
    pub(super) unboundable: Option<&'static str>,
    pub(super) nested: Option<Type>,
}

/// Types with a fixed size, or whose parsing bounds them: no rule needed, no nesting.
pub(super) const LEAVES: &[&str] = &[
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
pub(super) const STRINGS: &[&str] = &["String", "str", "Cow", "Bytes", "BytesMut", "ByteBuf", "OsString", "PathBuf"];

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

pub(super) fn type_arguments(segment: &syn::PathSegment) -> Vec<&Type> {
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

pub(super) fn shape(ty: &Type) -> Shape {
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
pub(super) fn derives(attrs: &[Attribute], trait_name: &str) -> bool {
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
pub(super) fn serde_container_flag(attrs: &[Attribute], flag: &str) -> bool {
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

pub(super) fn serde_field_rename(attrs: &[Attribute]) -> Option<String> {
    serde_rename_value(attrs, "rename")
}

/// The container's `#[serde(rename_all = "...")]`.
pub(super) fn serde_rename_all(attrs: &[Attribute]) -> RenameRule {
    serde_rename_value(attrs, "rename_all").map_or(RenameRule::None, |name| RenameRule::from_name(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens as _;

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
        let mut cx = Ctxt::default();
        let mut fields: syn::FieldsNamed = syn::parse_quote!({ unit_price: u8, #[serde(rename = "sku")] r#type: u8 });
        let rule = RenameRule::from_name("camelCase");
        let names: Vec<(String, String)> = fields
            .named
            .iter_mut()
            .map(|named| field(named, rule, &mut cx))
            .map(|plan| (plan.rust, plan.wire))
            .collect();
        assert_eq!(names, [("unit_price".to_owned(), "unitPrice".to_owned()), ("type".to_owned(), "sku".to_owned())]);
        assert!(!cx.has_errors());
        let attrs: syn::FieldsNamed =
            syn::parse_quote!({ #[serde(default, rename = "sku")] a: u8, #[serde(rename(deserialize = "in"))] b: u8 });
        assert_eq!(serde_field_rename(&attrs.named[0].attrs).as_deref(), Some("sku"));
        assert_eq!(serde_field_rename(&attrs.named[1].attrs).as_deref(), Some("in"));
    }
}
