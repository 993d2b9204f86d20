//! `authorize = path::to::check`: an object-level check run after the scope check.

use syn::{Expr, Meta};

use super::{ArgSpec, name_value};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "authorize", usage: "authorize = path::to::check", allowed_in: &[AttrKind::Secure], parse };

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            args.authorize =
                Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: path.path.clone() });
        }
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) => cx.error_spanned_by(
            lit,
            format_args!("`authorize` takes a path, not a string: write `authorize = {}`", lit.value()),
        ),
        other => cx.error_spanned_by(
            other,
            "expected the path of an async fn: `authorize = path::to::check`, where \
             `async fn check(principal: &Principal, parts: &mut Parts) -> Authorization`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn paths_only() {
        let (args, errors) = parse_str("authorize = checks::owns_item");
        assert!(!errors);
        assert_eq!(args.authorize.unwrap().value.segments.len(), 2);
        assert!(parse_str(r#"authorize = "checks::owns_item""#).1);
        assert!(parse_str("authorize = |p| true").1);
        assert!(parse_str("authorize").1);
    }
}
