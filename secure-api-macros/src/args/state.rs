//! `state = AppState`: the router state the handler is registered with. An `authorize` check
//! that takes `State<T>` reads `T` from it, and the extractor diagnostics check every argument
//! against it (the way axum-macros' `debug_handler(state = ...)` does): a macro cannot see the
//! router, so it is told.

use syn::Meta;

use super::{ArgSpec, name_value};
use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs, Spanned};

pub(crate) const SPEC: ArgSpec =
    ArgSpec { name: "state", usage: "state = AppState", allowed_in: &[AttrKind::Secure, AttrKind::Public], parse };

fn parse(meta: &Meta, args: &mut PolicyArgs, cx: &mut Ctxt) {
    let Some(expr) = name_value(meta, &SPEC, cx) else {
        return;
    };
    // `AppState` and `crate::AppState` parse as expressions; a generic type needs the
    // expression's tokens re-read as a type.
    match syn::parse2::<syn::Type>(quote::ToTokens::to_token_stream(expr)) {
        Ok(ty) => args.state = Some(Spanned { key_span: syn::spanned::Spanned::span(meta.path()), value: ty }),
        Err(_) => cx.error_spanned_by(expr, "expected the router's state type: `state = AppState`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> (PolicyArgs, bool) {
        crate::args::parse_for_test(parse, src)
    }

    #[test]
    fn types_only() {
        let (args, errors) = parse_str("state = crate::AppState");
        assert!(!errors);
        assert!(args.state.is_some());
        assert!(parse_str(r#"state = "AppState""#).1);
        assert!(parse_str("state").1);
    }
}
