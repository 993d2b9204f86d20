//! Rules that involve more than one argument; one small function each.

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs};

/// Runs every cross-argument rule.
pub(crate) fn policy(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    scopes_need_auth(args, cx);
    secure_needs_auth(kind, args, cx);
    max_body_needs_validate(args, cx);
}

/// Scopes are checked on an authenticated principal; without `auth` there is none.
fn scopes_need_auth(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(scopes), None) = (&args.scopes, &args.auth) {
        cx.syn_error(syn::Error::new(
            scopes.key_span,
            "`scopes` needs `auth`: add `auth = \"oauth\"` or `auth = \"api_key\"`",
        ));
    }
}

/// `#[secure]` without `auth` would be a public route in disguise; say so and point to `#[public]`.
fn secure_needs_auth(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    // `scopes` without `auth` already has its own error.
    if kind == AttrKind::Secure && args.auth.is_none() && args.scopes.is_none() {
        cx.syn_error(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[secure]` needs `auth = \"oauth\"` or `auth = \"api_key\"`; for a deliberately open route use `#[public]`",
        ));
    }
}

/// The body limit is enforced by the validating extractor; without `validate` nothing would
/// enforce it, and a limit that silently does nothing is worse than none.
fn max_body_needs_validate(args: &PolicyArgs, cx: &mut Ctxt) {
    if let Some(max_body) = &args.max_body
        && !args.validate.as_ref().is_some_and(|validate| validate.value)
    {
        cx.syn_error(syn::Error::new(
            max_body.key_span,
            "`max_body` limits validated bodies: add `validate` to `#[secure(...)]`",
        ));
    }
}
