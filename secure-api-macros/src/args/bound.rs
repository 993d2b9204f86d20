//! `bound = "dpop" | "mtls" | "any"`: the route accepts only sender-constrained access tokens
//! (RFC 9449 DPoP, RFC 8705 certificate-bound, or either), so a stolen bearer token is refused. Its parser, its cross-argument rule and its part of the
//! policy expression live here, so the shared files only call in.

use proc_macro2::TokenStream;
use syn::Meta;

use super::{ArgSpec, one_of, with_variant};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, CheckedPolicy, PolicyArgs};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "bound", usage: "bound = \"dpop\" | \"mtls\" | \"any\"", allowed_in: &[AttrKind::Secure], parse };

/// The runtime's `TokenBinding` variant for each accepted value.
const BINDINGS: [(&str, &str); 3] = [("dpop", "Dpop"), ("mtls", "Mtls"), ("any", "Any")];

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let unknown = |value: &str| {
        format!(
            "unknown token binding `{value}`; expected `bound = \"dpop\"` (DPoP-bound tokens, RFC 9449), \
             `bound = \"mtls\"` (certificate-bound tokens, RFC 8705) or `bound = \"any\"` (either)"
        )
    };
    if let Some(bound) = one_of(meta, &SPEC, &BINDINGS, unknown, cx) {
        args.bound = Some(bound);
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
    with_variant(policy, "with_binding", "TokenBinding", checked.bound)
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
