//! Checks on the annotated function itself: what a handler must look like.

use syn::{FnArg, ItemFn, Type};

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs};

/// axum implements `Handler` for up to 16 arguments; the guard takes one.
const MAX_ARGUMENTS: usize = 15;

/// Records every shape error; returns `false` when the function cannot be expanded at all
/// (the caller then emits it unchanged beside the errors).
pub(crate) fn check(kind: AttrKind, args: &PolicyArgs, item: &ItemFn, cx: &mut Ctxt) -> bool {
    let attribute = kind.name();
    let mut expandable = true;
    if item.sig.asyncness.is_none() {
        cx.error_spanned_by(
            item.sig.fn_token,
            format_args!("`#[{attribute}]` handlers must be `async fn`: add `async` before `fn`"),
        );
        expandable = false;
    }
    if let Some(receiver) = item.sig.receiver() {
        cx.error_spanned_by(
            receiver,
            format_args!(
                "`#[{attribute}]` cannot be used on methods that take `self`; write a free `async fn` and pass state with `State<...>`"
            ),
        );
        expandable = false;
    }
    // The object-level check is one more hidden argument.
    let max_user_arguments = MAX_ARGUMENTS - usize::from(args.authorize.is_some());
    if let Some(extra) = item.sig.inputs.iter().nth(max_user_arguments) {
        cx.error_spanned_by(
            extra,
            format_args!(
                "a `#[{attribute}]` handler takes at most {max_user_arguments} arguments (axum's limit, less the hidden guard arguments)"
            ),
        );
        expandable = false;
    }
    if kind == AttrKind::Public {
        for input in &item.sig.inputs {
            if let FnArg::Typed(typed) = input
                && names_type(&typed.ty, "Principal")
            {
                cx.error_spanned_by(
                    &typed.ty,
                    "`#[public]` handlers authenticate no one, so they cannot take a `Principal`; use `#[secure(auth = ...)]`",
                );
            }
        }
    }
    expandable
}

/// On an `auth_optional` route the handler may run with no caller, so it must take
/// `Option<Principal>`; a plain `Principal` would fail at run time.
pub(crate) fn check_principal_fits(args: &PolicyArgs, item: &ItemFn, cx: &mut Ctxt) {
    if args.auth_optional.is_none() {
        return;
    }
    for input in &item.sig.inputs {
        if let FnArg::Typed(typed) = input
            && names_type(&typed.ty, "Principal")
        {
            cx.error_spanned_by(
                &typed.ty,
                "this route has `auth_optional`, so there may be no caller: take `Option<Principal>` instead of `Principal`",
            );
        }
    }
}

/// Whether `ty` is a path whose last segment is `name` (`Principal`, `secure_api::Principal`).
fn names_type(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => path.path.segments.last().is_some_and(|segment| segment.ident == name),
        Type::Paren(inner) => names_type(&inner.elem, name),
        Type::Group(inner) => names_type(&inner.elem, name),
        _ => false,
    }
}
