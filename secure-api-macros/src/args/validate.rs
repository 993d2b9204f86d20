//! `validate` (or `validate = true`): every `Json`, `Form`, `Query` and `Path` input is validated;
//! `validate = false`: the author opts out, visibly, for this handler.

use syn::{Expr, ExprLit, Lit, Meta};

use super::ArgSpec;
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec = ArgSpec {
    name: "validate",
    usage: "validate | validate = false",
    allowed_in: &[AttrKind::Secure, AttrKind::Public],
    parse,
};

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let value = match meta {
        Meta::Path(_) => Some(true),
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(ExprLit { lit: Lit::Bool(flag), .. }) => Some(flag.value),
            other => {
                cx.error_spanned_by(other, "expected `validate` or `validate = false`");
                None
            }
        },
        Meta::List(_) => {
            cx.error_spanned_by(meta, "expected `validate` or `validate = false`");
            None
        }
    };
    // A malformed `validate` still counts as a decision, so the only error is the one above
    // (not also "this input is not validated").
    let key_span = syn::spanned::Spanned::span(meta.path());
    args.validate = Some(Spanned { key_span, value: value.unwrap_or(false) });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (Option<bool>, bool) {
        // (the value recorded, whether an error was reported)
        let meta: Meta = syn::parse_str(src).unwrap();
        let mut args = PolicyArgs::default();
        let mut cx = Ctxt::default();
        parse(&meta, &mut args, &mut cx);
        (args.validate.map(|spanned| spanned.value), cx.has_errors())
    }

    #[test]
    fn flag_and_explicit_values() {
        assert_eq!(parse_str("validate"), (Some(true), false));
        assert_eq!(parse_str("validate = true"), (Some(true), false));
        assert_eq!(parse_str("validate = false"), (Some(false), false));
        assert_eq!(parse_str("validate = \"no\""), (Some(false), true));
        assert_eq!(parse_str("validate(strict)"), (Some(false), true));
    }
}
