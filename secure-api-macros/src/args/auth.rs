//! `auth = "oauth" | "jwt" | "api_key"`, or several schemes as `"oauth | api_key"` (any of).

use syn::Meta;

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "auth", usage: "auth = \"oauth\" | \"jwt\" | \"api_key\"", allowed_in: &[AttrKind::Secure], parse };

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    let Some(lit) = string_literal(expr, &SPEC, cx) else {
        return;
    };
    let text = lit.value();
    let mut schemes = Vec::new();
    for name in text.split('|').map(str::trim) {
        let scheme = match name {
            "oauth" | "jwt" => AuthScheme::Bearer,
            "api_key" => AuthScheme::ApiKey,
            "" => {
                cx.error_spanned_by(lit, "empty auth scheme; expected `\"oauth\"`, `\"jwt\"` or `\"api_key\"`");
                return;
            }
            other => {
                cx.error_spanned_by(
                    lit,
                    format_args!("unknown auth scheme `{other}`; expected `\"oauth\"`, `\"jwt\"` or `\"api_key\"`"),
                );
                return;
            }
        };
        if schemes.contains(&scheme) {
            cx.error_spanned_by(lit, format_args!("auth scheme `{name}` is listed twice"));
            return;
        }
        schemes.push(scheme);
    }
    args.auth = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: schemes });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn aliases_and_any_of() {
        assert_eq!(parse_str(r#"auth = "jwt""#).0.auth.unwrap().value, [AuthScheme::Bearer]);
        assert_eq!(
            parse_str(r#"auth = "oauth | api_key""#).0.auth.unwrap().value,
            [AuthScheme::Bearer, AuthScheme::ApiKey]
        );
    }

    #[test]
    fn rejects_unknown_empty_and_repeated() {
        assert!(parse_str(r#"auth = "basic""#).1);
        assert!(parse_str(r#"auth = """#).1);
        assert!(parse_str(r#"auth = "oauth | jwt""#).1);
        assert!(parse_str(r#"auth = oauth"#).1);
    }
}
