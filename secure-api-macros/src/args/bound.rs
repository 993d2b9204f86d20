//! `bound = "dpop" | "mtls" | "any"`: the route accepts only sender-constrained access tokens
//! (RFC 9449 DPoP, RFC 8705 certificate-bound, or either), so a stolen bearer token is refused. Its parser, its cross-argument rule and its part of the
//! policy expression live here, so the shared files only call in.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, CheckedPolicy, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "bound", usage: "bound = \"dpop\" | \"mtls\" | \"any\"", allowed_in: &[AttrKind::Secure], parse };

/// The runtime's `TokenBinding` variant for each accepted value.
const BINDINGS: [(&str, &str); 3] = [("dpop", "Dpop"), ("mtls", "Mtls"), ("any", "Any")];

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(lit) = name_value(meta, &SPEC, cx).and_then(|expr| string_literal(expr, &SPEC, cx)) else {
        return;
    };
    let value = lit.value();
    match BINDINGS.iter().find(|(name, _)| *name == value) {
        Some((_, variant)) => {
            args.bound = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: variant });
        }
        None => cx.error_spanned_by(
            lit,
            format_args!(
                "unknown token binding `{value}`; expected `bound = \"dpop\"` (DPoP-bound tokens, RFC 9449), \
                 `bound = \"mtls\"` (certificate-bound tokens, RFC 8705) or `bound = \"any\"` (either)"
            ),
        ),
    }
}

/// Only OAuth access tokens are bound to a key: `bound` needs `auth = "oauth"`.
pub(crate) fn check(args: &PolicyArgs, cx: &mut Ctxt) {
    let Some(bound) = &args.bound else {
        return;
    };
    let has_oauth = args.auth.as_ref().is_some_and(|auth| auth.value.contains(&AuthScheme::Bearer));
    // A malformed `auth` already has its own error.
    if !has_oauth && (args.auth.is_some() || !args.written.contains(&"auth")) {
        cx.syn_error(syn::Error::new(
            bound.key_span,
            "`bound` needs `auth = \"oauth\"`: only OAuth access tokens are bound to a client key",
        ));
    }
}

/// `policy.with_binding(TokenBinding::..)` when the route declared one.
pub(crate) fn extend_policy(checked: &CheckedPolicy, policy: TokenStream) -> TokenStream {
    match checked.bound {
        Some(variant) => {
            let variant = quote::format_ident!("{}", variant);
            quote! { #policy.with_binding(::secure_api::__private::TokenBinding::#variant) }
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
    fn mtls_and_any() {
        assert_eq!(parse_str(r#"bound = "mtls""#).0.bound.map(|bound| bound.value), Some("Mtls"));
        assert_eq!(parse_str(r#"bound = "any""#).0.bound.map(|bound| bound.value), Some("Any"));
        assert!(parse_str(r#"bound = "hok""#).1);
    }

    #[test]
    fn dpop_only() {
        let (args, errors) = parse_str(r#"bound = "dpop""#);
        assert!(!errors);
        assert_eq!(args.bound.map(|bound| bound.value), Some("Dpop"));
        assert!(parse_str(r#"bound = "DPoP-ish""#).1);
        assert!(parse_str("bound = dpop").1);
        assert!(parse_str("bound").1);
    }
}
