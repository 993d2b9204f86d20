//! `acr = ["urn:example:mfa", "phr"]` and `max_age = 300`: step-up authentication
//! (RFC 9470). The route accepts only access tokens whose `acr` claim is one of the listed
//! values and whose `auth_time` is at most `max_age` seconds old; any other token gets 401
//! `insufficient_user_authentication` naming the requirement. Their parsers, their
//! cross-argument rules and their part of the policy expression live here, so the shared files
//! only call in.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Expr, Meta};

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, CheckedPolicy, PolicyArgs, Spanned};

pub(crate) const ACR_SPEC: ArgSpec = ArgSpec {
    name: "acr",
    usage: "acr = [\"urn:example:mfa\", ...]",
    allowed_in: &[AttrKind::Secure],
    parse: parse_acr,
};

pub(crate) const MAX_AGE_SPEC: ArgSpec =
    ArgSpec { name: "max_age", usage: "max_age = SECONDS", allowed_in: &[AttrKind::Secure], parse: parse_max_age };

/// An `acr` value as it can travel in the challenge's space-separated, quoted `acr_values`:
/// printable ASCII without space, `"` or `\` (the scope-token grammar, for the same reason).
fn is_acr_value(value: &str) -> bool {
    super::scopes::is_scope_token(value)
}

fn parse_acr(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &ACR_SPEC, cx) else {
        return;
    };
    let Expr::Array(array) = expr else {
        cx.error_spanned_by(expr, "expected an array of string literals: `acr = [\"urn:example:mfa\"]`");
        return;
    };
    if array.elems.is_empty() {
        cx.error_spanned_by(array, "`acr` is empty; name at least one accepted `acr` value, or remove `acr`");
        return;
    }
    let mut values: Vec<String> = Vec::new();
    let mut ok = true;
    for element in &array.elems {
        let Some(lit) = string_literal(element, &ACR_SPEC, cx) else {
            ok = false;
            continue;
        };
        let value = lit.value();
        if value.is_empty() {
            cx.error_spanned_by(lit, "an `acr` value is empty; remove it, or name the authentication context class");
            ok = false;
        } else if !is_acr_value(&value) {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "`{}` is not a valid `acr` value: use printable ASCII without spaces, `\"` or `\\` \
                     (the values are sent space-separated in the challenge's `acr_values`, RFC 9470 §3)",
                    value.escape_default()
                ),
            );
            ok = false;
        } else if values.contains(&value) {
            cx.error_spanned_by(lit, format_args!("`acr` value `{value}` is listed twice"));
            ok = false;
        } else {
            values.push(value);
        }
    }
    if ok {
        args.acr = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: values });
    }
}

fn parse_max_age(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &MAX_AGE_SPEC, cx) else {
        return;
    };
    let Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. }) = expr else {
        // A string such as "5m" reads like a duration but is not one here: say so.
        cx.error_spanned_by(
            expr,
            "expected a whole number of seconds: `max_age = 300` (the largest age of the user's authentication)",
        );
        return;
    };
    match lit.base10_parse::<u64>() {
        Ok(0) => cx.error_spanned_by(
            lit,
            "`max_age` must be at least 1 second: `max_age = 0` would demand a login in the same second as the request",
        ),
        Ok(seconds) => {
            args.max_age = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: seconds });
        }
        Err(_) => cx.error_spanned_by(lit, "expected a whole number of seconds: `max_age = 300`"),
    }
}

/// Only OAuth access tokens carry `acr` and `auth_time`: a route with a step-up requirement
/// must accept nothing else. An API key accepted beside the token would walk past the
/// requirement (or, refused at run time, make the route's `auth` a lie), so it is an error here.
/// And an anonymous caller (`auth_optional`) has no token to step up.
pub(crate) fn check(args: &PolicyArgs, cx: &mut Ctxt) {
    let declared: Vec<(&str, proc_macro2::Span)> = [
        ("acr", args.acr.as_ref().map(|acr| acr.key_span)),
        ("max_age", args.max_age.as_ref().map(|max_age| max_age.key_span)),
    ]
    .into_iter()
    .filter_map(|(name, span)| span.map(|span| (name, span)))
    .collect();
    let schemes = args.auth.as_ref().map(|auth| auth.value.as_slice());
    // A malformed `auth`, or none at all, already has its own error.
    if schemes.is_some_and(|schemes| schemes.iter().any(|scheme| *scheme != AuthScheme::Bearer)) {
        for (name, key_span) in &declared {
            cx.syn_error(syn::Error::new(
                *key_span,
                format_args!(
                    "`{name}` needs `auth = \"oauth\"` alone: only OAuth access tokens carry `acr` and `auth_time`, \
                     so an API key would walk past the step-up requirement; remove `api_key` from `auth`, \
                     or give the step-up route a handler of its own"
                ),
            ));
        }
    }
    if let (Some(optional), Some((name, _))) = (&args.auth_optional, declared.first()) {
        cx.syn_error(syn::Error::new(
            optional.key_span,
            format_args!(
                "`auth_optional` cannot be combined with `{name}`: an anonymous caller has no token to step up"
            ),
        ));
    }
}

/// `policy.with_acr_values(&[..]).with_max_age(N)` for what the route declared.
pub(crate) fn extend_policy(checked: &CheckedPolicy, mut policy: TokenStream) -> TokenStream {
    if let Some(values) = &checked.acr_values {
        policy = quote! { #policy.with_acr_values(&[#(#values),*]) };
    }
    if let Some(seconds) = checked.max_age {
        policy = quote! { #policy.with_max_age(#seconds) };
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acr(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse_acr, src)
    }

    fn max_age(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse_max_age, src)
    }

    #[test]
    fn acr_values_in_order() {
        let (args, errors) = acr(r#"acr = ["urn:example:mfa", "phr"]"#);
        assert!(!errors);
        assert_eq!(args.acr.map(|acr| acr.value), Some(vec!["urn:example:mfa".to_owned(), "phr".to_owned()]));
    }

    #[test]
    fn acr_mistakes() {
        for src in [
            "acr = []",
            r#"acr = "phr""#,
            r#"acr = [""]"#,
            r#"acr = ["a b"]"#,
            r#"acr = ["a\"b"]"#,
            r#"acr = ["a\\b"]"#,
            r#"acr = ["a\u{7}b"]"#,
            r#"acr = ["é"]"#,
            r#"acr = ["phr", "phr"]"#,
            "acr = [phr]",
            "acr",
        ] {
            let (args, errors) = acr(src);
            assert!(errors && args.acr.is_none(), "`{src}` was accepted");
        }
    }

    #[test]
    fn max_age_is_whole_positive_seconds() {
        assert_eq!(max_age("max_age = 300").0.max_age.map(|max_age| max_age.value), Some(300));
        for src in ["max_age = 0", r#"max_age = "5m""#, "max_age = 1.5", "max_age = -5", "max_age", "max_age = FIVE"] {
            let (args, errors) = max_age(src);
            assert!(errors && args.max_age.is_none(), "`{src}` was accepted");
        }
    }
}
