//! `threat = false`: this route opts out of the app's threat detection (for example an
//! endpoint that legitimately receives code or markup). `threat = true` states the default.
//!
//! `threat(exempt(xss = ["body.description"], sqli = ["query.q"]))`: named fields of the
//! route's input skip the rules of some families (rich text that holds markup on purpose); the
//! rest of the input, and the other families on that field, are still inspected. Families:
//! `sqli`, `xss`, `traversal`, `cmd`, `header`, `ldap`, `format`, `all`. Fields: `body.<field>[.<field>]`
//! names a field of the handler's `Json<T>` or `Form<T>` input, `query.<field>` one of its
//! `Query<T>`; [`field_checks`] makes a field the type does not have a compile error on the
//! string that names it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::punctuated::Punctuated;
use syn::{Expr, FnArg, ItemFn, Meta, Token};

use super::{ArgSpec, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, CheckedPolicy, PolicyArgs, Spanned, ThreatExemptArg};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "threat",
    usage: "threat = false | threat(exempt(xss = [\"body.<field>\"]))",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse,
};

/// The family names the attribute accepts, and the runtime's `ThreatFamily` variants each
/// stands for.
const FAMILIES: &[(&str, &[&str])] = &[
    ("sqli", &["SqlInjection"]),
    ("xss", &["Xss"]),
    ("traversal", &["PathTraversal"]),
    ("cmd", &["CommandInjection"]),
    ("header", &["HeaderInjection"]),
    ("ldap", &["LdapInjection"]),
    ("format", &["FormatString"]),
    (
        "all",
        &[
            "SqlInjection",
            "Xss",
            "PathTraversal",
            "CommandInjection",
            "HeaderInjection",
            "LdapInjection",
            "FormatString",
        ],
    ),
];

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    match meta {
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(value), .. }) => {
                args.threat = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: value.value });
            }
            expr => cx.error_spanned_by(
                expr,
                "expected `threat = false` (opt this route out of threat detection) or `threat = true`",
            ),
        },
        Meta::List(list) => match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(items) => items.iter().for_each(|item| parse_exempt(item, args, cx)),
            Err(error) => cx.syn_error(error),
        },
        Meta::Path(_) => cx.error_spanned_by(meta, format_args!("expected `{}`", SPEC.usage)),
    }
}

/// `exempt(xss = ["body.description"], ...)`.
fn parse_exempt(item: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let list = match item {
        Meta::List(list) if list.path.is_ident("exempt") => list,
        _ => {
            return cx
                .error_spanned_by(item, "expected `exempt(<family> = [\"body.<field>\", ...])` inside `threat(...)`");
        }
    };
    let entries = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
        Ok(entries) => entries,
        Err(error) => return cx.syn_error(error),
    };
    for entry in &entries {
        let Meta::NameValue(name_value) = entry else {
            cx.error_spanned_by(entry, "expected `<family> = [\"body.<field>\", ...]`");
            continue;
        };
        let name = name_value.path.get_ident().map(ToString::to_string).unwrap_or_default();
        let Some((_, families)) = FAMILIES.iter().find(|(family, _)| *family == name) else {
            let known: Vec<&str> = FAMILIES.iter().map(|(family, _)| *family).collect();
            cx.error_spanned_by(
                &name_value.path,
                format_args!("unknown rule family `{name}`; expected one of: {}", known.join(", ")),
            );
            continue;
        };
        let Expr::Array(array) = &name_value.value else {
            cx.error_spanned_by(&name_value.value, "expected a list of field paths: `[\"body.description\"]`");
            continue;
        };
        for element in &array.elems {
            let Some(field) = string_literal(element, &SPEC, cx) else {
                continue;
            };
            match check_field_path(&field.value()) {
                Ok(()) => args.threat_exempt.push(ThreatExemptArg { field: field.clone(), families }),
                Err(message) => cx.error_spanned_by(field, message),
            }
        }
    }
}

/// `body.a.b` or `query.a`: a known source, then Rust identifiers.
fn check_field_path(path: &str) -> Result<(), String> {
    let mut segments = path.split('.');
    let source = segments.next().unwrap_or_default();
    if source != "body" && source != "query" {
        return Err(format!("`{path}`: a field path starts with `body.` or `query.`, e.g. `body.description`"));
    }
    let fields: Vec<&str> = segments.collect();
    if fields.is_empty() {
        return Err(format!("`{path}`: name a field, e.g. `{source}.description`"));
    }
    if source == "query" && fields.len() > 1 {
        return Err(format!("`{path}`: a query parameter has no nested fields"));
    }
    match fields.iter().find(|field| syn::parse_str::<syn::Ident>(field).is_err()) {
        Some(field) => Err(format!("`{path}`: `{field}` is not a field name")),
        None => Ok(()),
    }
}

/// Compile-time proof that every exempted field exists: an item that reads
/// `body.description` from a `&T` for the handler's `Json<T>` / `Form<T>` (or `Query<T>`), with
/// the field access spanned on the string, so a misspelt or missing field is reported there
/// ("no field `descripton` on type `&NewItem`").
pub(crate) fn field_checks(function: &ItemFn, checked: &CheckedPolicy) -> TokenStream {
    let mut checks = TokenStream::new();
    for exemption in &checked.threat_exempt {
        let path = exemption.field.value();
        let mut segments = path.split('.');
        let wrappers: &[&str] = if segments.next() == Some("body") { &["Json", "Form"] } else { &["Query"] };
        let span = exemption.field.span();
        let Some(input) = input_type(function, wrappers) else {
            let message = format!(
                "`{path}` names a field of the handler's `{}<T>` input, and the handler has none",
                wrappers.join("<T>` or `")
            );
            checks.extend(quote_spanned! {span=> ::core::compile_error!(#message);});
            continue;
        };
        let fields = segments.map(|field| format_ident!("{}", field, span = span));
        checks.extend(quote_spanned! {span=>
            const _: () = {
                #[allow(dead_code, unused_variables, clippy::no_effect_underscore_binding)]
                fn __secure_threat_exempt_field(__secure_input: &#input) {
                    let _ = &__secure_input #(.#fields)*;
                }
            };
        });
    }
    checks
}

/// The `T` of the first handler argument typed `Json<T>` / `Form<T>` / `Query<T>` (by the
/// last path segment, so `axum::Json<T>` counts too).
fn input_type<'a>(function: &'a ItemFn, wrappers: &[&str]) -> Option<&'a syn::Type> {
    function.sig.inputs.iter().find_map(|input| {
        let FnArg::Typed(typed) = input else {
            return None;
        };
        let syn::Type::Path(path) = typed.ty.as_ref() else {
            return None;
        };
        let last = path.path.segments.last()?;
        if !wrappers.iter().any(|wrapper| last.ident == wrapper) {
            return None;
        }
        let syn::PathArguments::AngleBracketed(generics) = &last.arguments else {
            return None;
        };
        generics.args.iter().find_map(|argument| match argument {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn booleans_only() {
        assert_eq!(parse_str("threat = false").0.threat.map(|threat| threat.value), Some(false));
        assert!(parse_str(r#"threat = "off""#).1);
        assert!(parse_str("threat").1);
    }

    #[test]
    fn exemptions_name_a_family_and_field_paths() {
        let (args, failed) =
            parse_str(r#"threat(exempt(xss = ["body.description", "body.seo.html"], sqli = ["query.q"]))"#);
        assert!(!failed);
        let fields: Vec<String> = args.threat_exempt.iter().map(|exemption| exemption.field.value()).collect();
        assert_eq!(fields, ["body.description", "body.seo.html", "query.q"]);
        assert_eq!(args.threat_exempt[0].families, ["Xss"]);
        assert_eq!(parse_str(r#"threat(exempt(all = ["body.html"]))"#).0.threat_exempt[0].families.len(), 7);
    }

    #[test]
    fn bad_exemptions_are_errors() {
        for src in [
            r#"threat(exempt(html = ["body.description"]))"#,
            r#"threat(exempt(xss = "body.description"))"#,
            r#"threat(exempt(xss = ["description"]))"#,
            r#"threat(exempt(xss = ["body."]))"#,
            r#"threat(exempt(xss = ["body.my-field"]))"#,
            r#"threat(exempt(xss = ["query.a.b"]))"#,
            r#"threat(exempt(xss = [1]))"#,
            r#"threat(allow(xss = ["body.description"]))"#,
            r#"threat(exempt)"#,
        ] {
            assert!(parse_str(src).1, "{src}");
        }
    }

    #[test]
    fn field_checks_read_each_field_from_the_body_type() {
        let function: ItemFn = syn::parse_quote! {
            async fn update(Json(item): axum::Json<NewItem>) {}
        };
        let (checked, _) = crate::check::build_for_test(AttrKind::Public, r#"threat(exempt(xss = ["body.seo.html"]))"#);
        let checked = checked.expect("a lone exemption builds");
        let checks = field_checks(&function, &checked).to_string();
        assert!(checks.contains("& NewItem") && checks.contains(". seo . html"), "{checks}");
        let without_body: ItemFn = syn::parse_quote! { async fn list() {} };
        assert!(field_checks(&without_body, &checked).to_string().contains("compile_error"));
    }
}
