//! `auth_optional`: requests without credentials reach the handler with no principal.

use syn::Meta;

use super::ArgSpec;
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "auth_optional", usage: "auth_optional", allowed_in: &[AttrKind::Secure], parse };

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    match meta {
        Meta::Path(path) => {
            args.auth_optional = Some(Spanned { key_span: syn::spanned::Spanned::span(path), value: () });
        }
        _ => cx.error_spanned_by(meta, "`auth_optional` is a flag: write `auth_optional`, without a value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn flag_only() {
        assert!(parse_str("auth_optional").0.auth_optional.is_some());
        assert!(parse_str("auth_optional = true").1);
        assert!(parse_str("auth_optional(yes)").1);
    }
}
