//! `allow_ips = ["10.0.0.0/8", "2001:db8::/32"]` and `deny_ips = [...]`: the route's IP lists,
//! checked against the trusted client address before authentication. Every entry is parsed
//! here, at compile time; a bad one is an error on its literal.

use syn::{Expr, Meta};

use super::cidr::{self, Cidr};
use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const ALLOW_SPEC: ArgSpec = ArgSpec {
    name: "allow_ips",
    usage: "allow_ips = [\"10.0.0.0/8\", ...]",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse: parse_allow,
};

pub(crate) const DENY_SPEC: ArgSpec = ArgSpec {
    name: "deny_ips",
    usage: "deny_ips = [\"192.0.2.0/24\", ...]",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse: parse_deny,
};

/// A parsed entry with its literal, so cross-list errors can point at it.
pub(crate) struct CidrEntry {
    pub(crate) cidr: Cidr,
    pub(crate) lit: syn::LitStr,
}

fn parse_allow(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    args.allow_ips = parse_list(meta, &ALLOW_SPEC, cx);
}

fn parse_deny(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    args.deny_ips = parse_list(meta, &DENY_SPEC, cx);
}

fn parse_list(meta: &Meta, spec: &ArgSpec, cx: &mut Ctxt) -> Option<Spanned<Vec<CidrEntry>>> {
    let expr = name_value(meta, spec, cx)?;
    let Expr::Array(array) = expr else {
        cx.error_spanned_by(expr, format_args!("expected an array of CIDR strings: `{}`", spec.usage));
        return None;
    };
    if array.elems.is_empty() {
        cx.error_spanned_by(array, format_args!("`{}` is empty; list at least one network, or remove it", spec.name));
        return None;
    }
    let mut entries: Vec<CidrEntry> = Vec::new();
    let mut ok = true;
    for element in &array.elems {
        let Some(lit) = string_literal(element, spec, cx) else {
            ok = false;
            continue;
        };
        match cidr::parse(&lit.value()) {
            Ok(parsed) if entries.iter().any(|entry| entry.cidr == parsed) => {
                cx.error_spanned_by(lit, format_args!("`{}` is listed twice", lit.value()));
                ok = false;
            }
            Ok(parsed) => entries.push(CidrEntry { cidr: parsed, lit: lit.clone() }),
            Err(message) => {
                cx.error_spanned_by(lit, message);
                ok = false;
            }
        }
    }
    ok.then(|| Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse_allow, src)
    }

    #[test]
    fn parses_v4_and_v6() {
        let (args, errors) = parse_str(r#"allow_ips = ["10.0.0.0/8", "2001:db8::/32", "::1"]"#);
        assert!(!errors);
        assert_eq!(args.allow_ips.unwrap().value.len(), 3);
    }

    #[test]
    fn rejects_bad_empty_repeated_and_non_strings() {
        assert!(parse_str(r#"allow_ips = ["10.0.0.0/33"]"#).1);
        assert!(parse_str(r#"allow_ips = []"#).1);
        assert!(parse_str(r#"allow_ips = ["10.0.0.0/8", "10.0.0.0/8"]"#).1);
        assert!(parse_str(r#"allow_ips = [10]"#).1);
        assert!(parse_str(r#"allow_ips = "10.0.0.0/8""#).1);
    }
}
