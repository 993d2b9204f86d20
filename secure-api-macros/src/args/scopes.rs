//! `scopes = ["items:read", "items:write"]`: every listed scope is required.

use syn::{Expr, Meta};

use super::{ArgSpec, name_value, string_literal};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "scopes", usage: "scopes = [\"scope\", ...]", allowed_in: &[AttrKind::Secure], parse };

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: printable ASCII without
/// space, `"` or `\`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    let Expr::Array(array) = expr else {
        cx.error_spanned_by(expr, "expected an array of string literals: `scopes = [\"items:read\"]`");
        return;
    };
    if array.elems.is_empty() {
        cx.error_spanned_by(array, "`scopes` is empty; name at least one scope, or remove `scopes`");
        return;
    }
    let mut scopes: Vec<String> = Vec::new();
    let mut ok = true;
    for element in &array.elems {
        let Some(lit) = string_literal(element, &SPEC, cx) else {
            ok = false;
            continue;
        };
        let scope = lit.value();
        if !is_scope_token(&scope) {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "`{scope}` is not a valid scope: use printable ASCII without spaces, `\"` or `\\` (RFC 6749 §3.3)"
                ),
            );
            ok = false;
        } else if scopes.contains(&scope) {
            cx.error_spanned_by(lit, format_args!("scope `{scope}` is listed twice"));
            ok = false;
        } else {
            scopes.push(scope);
        }
    }
    if ok {
        args.scopes = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: scopes });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_grammar() {
        assert!(is_scope_token("items:write"));
        assert!(!is_scope_token("items write"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("é"));
    }
}
