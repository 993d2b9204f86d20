//! `errors = "problem" | "oauth"`: the format of the handler's own error bodies. `"oauth"` says
//! they are RFC 6749 §5.2 JSON (`{"error": "invalid_client"}`), as an OAuth token endpoint must
//! answer, instead of the `application/problem+json` every rejection uses; the self-scan reads
//! it from the route's policy. Its parser and its part of the policy expression live here.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, CheckedPolicy, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "errors", usage: "errors = \"problem\" | \"oauth\"", allowed_in: &[AttrKind::Public], parse };

/// The runtime's `ErrorFormat` variant for each accepted value.
const FORMATS: [(&str, &str); 2] = [("problem", "Problem"), ("oauth", "OAuth")];

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(lit) = name_value(meta, &SPEC, cx).and_then(|expr| string_literal(expr, &SPEC, cx)) else {
        return;
    };
    let value = lit.value();
    match FORMATS.iter().find(|(name, _)| *name == value) {
        Some((_, variant)) => {
            args.errors = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: variant });
        }
        None => cx.error_spanned_by(
            lit,
            format_args!(
                "unknown error format `{value}`; expected `errors = \"oauth\"` (RFC 6749 §5.2 error bodies, \
                 for a token endpoint) or `errors = \"problem\"` (application/problem+json, the default)"
            ),
        ),
    }
}

/// `policy.with_error_format(ErrorFormat::..)` when the route declared one.
pub(crate) fn extend_policy(checked: &CheckedPolicy, policy: TokenStream) -> TokenStream {
    match checked.errors {
        Some(variant) => {
            let variant = quote::format_ident!("{}", variant);
            quote! { #policy.with_error_format(::secure_api::__private::ErrorFormat::#variant) }
        }
        None => policy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn oauth_and_problem() {
        assert_eq!(parse_str(r#"errors = "oauth""#).0.errors.map(|errors| errors.value), Some("OAuth"));
        assert_eq!(parse_str(r#"errors = "problem""#).0.errors.map(|errors| errors.value), Some("Problem"));
    }

    #[test]
    fn anything_else_is_an_error() {
        assert!(parse_str(r#"errors = "json""#).1);
        assert!(parse_str(r#"errors = "OAuth""#).1);
        assert!(parse_str("errors = oauth").1);
        assert!(parse_str("errors").1);
    }
}
