//! `threat = false`: this route opts out of the app's threat detection (for example an
//! endpoint that legitimately receives code or markup). `threat = true` states the default.

use syn::{Expr, Meta};

use super::{ArgSpec, name_value};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "threat", usage: "threat = false", allowed_in: &[AttrKind::Secure, AttrKind::Public], parse };

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(value), .. }) => {
            args.threat = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: value.value });
        }
        _ => cx.error_spanned_by(
            expr,
            "expected `threat = false` (opt this route out of threat detection) or `threat = true`",
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
    fn booleans_only() {
        assert_eq!(parse_str("threat = false").0.threat.map(|threat| threat.value), Some(false));
        assert!(parse_str(r#"threat = "off""#).1);
        assert!(parse_str("threat").1);
    }
}
