//! Rules that involve more than one argument; one small function each.

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, PolicyArgs, RateKeyArg};

/// Runs every cross-argument rule.
pub(crate) fn policy(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    scopes_need_auth(args, cx);
    secure_needs_auth(kind, args, cx);
    key_needs_rate(args, cx);
    key_needs_its_credential(kind, args, cx);
}

/// `key` says what a rate limit counts against; without `rate` there is nothing to count.
fn key_needs_rate(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(key), None) = (&args.rate_key, &args.rate) {
        cx.syn_error(syn::Error::new(key.key_span, "`key` needs `rate`: add `rate = \"100/15m\"`"));
    }
}

/// `key = "principal"` needs an authenticated caller, `key = "api_key"` one that may
/// authenticate with an API key.
fn key_needs_its_credential(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    let Some(key) = &args.rate_key else {
        return;
    };
    let needs = match key.value {
        RateKeyArg::Principal => "principal",
        RateKeyArg::ApiKey => "api_key",
        RateKeyArg::Ip | RateKeyArg::Header(_) => return,
    };
    if kind == AttrKind::Public {
        cx.syn_error(syn::Error::new(
            key.key_span,
            format_args!(
                "`key = \"{needs}\"` needs an authenticated caller, and `#[public]` authenticates no one; use `key = \"ip\"` or `key = \"header:NAME\"`"
            ),
        ));
        return;
    }
    let accepts_api_key = args.auth.as_ref().is_some_and(|auth| auth.value.contains(&AuthScheme::ApiKey));
    if key.value == RateKeyArg::ApiKey && args.auth.is_some() && !accepts_api_key {
        cx.syn_error(syn::Error::new(
            key.key_span,
            "`key = \"api_key\"` counts per API key, but this route does not accept API keys: add `\"api_key\"` to `auth`, or use `key = \"principal\"`",
        ));
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
