//! `errors = "problem" | "oauth"`: the format of the handler's own error bodies. `"oauth"` says
//! they are RFC 6749 §5.2 JSON (`{"error": "invalid_client"}`), as an OAuth token endpoint must
//! answer, instead of the `application/problem+json` every rejection uses; the self-scan reads
//! it from the route's policy. Its parser and its part of the policy expression live here.

use proc_macro2::TokenStream;
use syn::Meta;

use super::{ArgSpec, one_of, with_variant};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, CheckedPolicy, PolicyArgs};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "errors", usage: "errors = \"problem\" | \"oauth\"", allowed_in: &[AttrKind::Public], parse };

/// The runtime's `ErrorFormat` variant for each accepted value.
const FORMATS: [(&str, &str); 2] = [("problem", "Problem"), ("oauth", "OAuth")];

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let unknown = |value: &str| {
        format!(
            "unknown error format `{value}`; expected `errors = \"oauth\"` (RFC 6749 §5.2 error bodies, \
             for a token endpoint) or `errors = \"problem\"` (application/problem+json, the default)"
        )
    };
    if let Some(errors) = one_of(meta, &SPEC, &FORMATS, unknown, cx) {
        args.errors = Some(errors);
    }
}

/// `policy.with_error_format(ErrorFormat::..)` when the route declared one.
pub(crate) fn extend_policy(checked: &CheckedPolicy, policy: TokenStream) -> TokenStream {
    with_variant(policy, "with_error_format", "ErrorFormat", checked.errors)
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
