//! Rules that involve more than one argument; one small function each.

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, PolicyArgs};

/// Runs every cross-argument rule.
pub(crate) fn policy(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    scopes_need_auth(args, cx);
    secure_needs_auth(kind, args, cx);
    ip_lists_do_not_overlap(args, cx);
}

/// A network both allowed and denied (or denied inside an allowed one that is the same block)
/// is almost always a typo; a deny block strictly inside an allow block is fine (a carve-out).
fn ip_lists_do_not_overlap(args: &PolicyArgs, cx: &mut Ctxt) {
    let (Some(allow), Some(deny)) = (&args.allow_ips, &args.deny_ips) else {
        return;
    };
    for denied in &deny.value {
        let swallowed = |allowed: &&crate::args::ip_lists::CidrEntry| {
            allowed.cidr.overlaps(&denied.cidr) && allowed.cidr.prefix >= denied.cidr.prefix
        };
        if let Some(allowed) = allow.value.iter().find(swallowed) {
            cx.error_spanned_by(
                &denied.lit,
                format_args!(
                    "`{}` denies all of `{}`, which `allow_ips` lists; remove one of them",
                    denied.lit.value(),
                    allowed.lit.value()
                ),
            );
        }
    }
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
