//! Rules that involve more than one argument, one small function each, and the only way to a
//! [`CheckedPolicy`]: [`build`] (tokio-macros' `Configuration::build() -> FinalConfig`).

use crate::ctxt::Ctxt;
use crate::model::{AttrKind, AuthScheme, CheckedPolicy, PolicyArgs, RateKeyArg, Validation};

/// The token that makes a [`CheckedPolicy`]: its field is private to this module, so only
/// [`build`] and [`fallback`] can write one.
pub(crate) struct Sealed(());

/// Runs every cross-argument rule on the parsed arguments (recording each error in `cx`) and,
/// when the arguments parsed and pass them all, returns what expansion needs.
pub(crate) fn build(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) -> Option<CheckedPolicy> {
    let errors_before = cx.error_count();
    policy(kind, args, cx);
    if args.malformed || cx.error_count() > errors_before {
        return None;
    }
    let validation = match args.validate.as_ref().map(|validate| validate.value) {
        None => Validation::Unstated,
        Some(true) => Validation::Enforced,
        Some(false) => Validation::OptedOut,
    };
    let rates = args.rate.iter().map(|rate| rate.value).chain(args.more_rates.iter().copied()).collect();
    let cidrs = |list: &Option<crate::model::Spanned<Vec<crate::args::ip_lists::CidrEntry>>>| {
        list.as_ref().map(|list| list.value.iter().map(|entry| entry.cidr).collect())
    };
    Some(CheckedPolicy {
        kind,
        auth: args.auth.as_ref().map(|auth| auth.value.clone()),
        scopes: args.scopes.as_ref().map(|scopes| scopes.value.clone()),
        optional_auth: args.auth_optional.is_some(),
        authorize: args.authorize.as_ref().map(|authorize| authorize.value.clone()),
        allow_ips: cidrs(&args.allow_ips),
        deny_ips: cidrs(&args.deny_ips),
        threat: args.threat.as_ref().map(|threat| threat.value),
        threat_exempt: args.threat_exempt.clone(),
        rates,
        rate_key: args.rate_key.as_ref().map(|key| key.value.clone()),
        validation,
        max_body: args.max_body.as_ref().map(|max_body| max_body.value),
        state: args.state.as_ref().map(|state| state.value.clone()),
        bound: args.bound.as_ref().map(|bound| bound.value),
        _sealed: Sealed(()),
    })
}

/// What a function is expanded with when its arguments have errors: no argument at all. The
/// function still gets its guard (so the router reports no "not annotated" handler on top of
/// the real errors), and nothing is generated from arguments that were refused.
pub(crate) fn fallback(kind: AttrKind) -> CheckedPolicy {
    CheckedPolicy {
        kind,
        auth: None,
        scopes: None,
        optional_auth: false,
        authorize: None,
        allow_ips: None,
        deny_ips: None,
        threat: None,
        threat_exempt: Vec::new(),
        rates: Vec::new(),
        rate_key: None,
        validation: Validation::Unstated,
        max_body: None,
        state: None,
        bound: None,
        _sealed: Sealed(()),
    }
}

/// Runs every cross-argument rule.
fn policy(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    scopes_need_auth(args, cx);
    secure_needs_auth(kind, args, cx);
    optional_auth_needs_auth(args, cx);
    optional_auth_excludes_scopes(args, cx);
    authorize_needs_auth(args, cx);
    optional_auth_excludes_authorize(args, cx);
    ip_lists_do_not_overlap(args, cx);
    key_needs_rate(args, cx);
    key_needs_its_credential(kind, args, cx);
    max_body_needs_validate(args, cx);
    crate::args::bound::check(args, cx);
}

/// `auth_optional` qualifies `auth`; alone it would be a public route in disguise.
fn optional_auth_needs_auth(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(optional), false) = (&args.auth_optional, args.written.contains(&"auth")) {
        cx.syn_error(syn::Error::new(
            optional.key_span,
            "`auth_optional` needs `auth`: write `auth = \"oauth\", auth_optional`",
        ));
    }
}

/// An anonymous caller holds no scopes, so a route cannot both require scopes and let
/// anonymous callers in; the handler can check `principal.has_scope(..)` itself.
fn optional_auth_excludes_scopes(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(optional), Some(_)) = (&args.auth_optional, &args.scopes) {
        cx.syn_error(syn::Error::new(
            optional.key_span,
            "`auth_optional` cannot be combined with `scopes`: an anonymous caller holds no scopes; \
             remove `auth_optional`, or remove `scopes` and check `principal.has_scope(..)` in the handler",
        ));
    }
}

/// The object-level check judges an authenticated principal.
fn authorize_needs_auth(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(authorize), false) = (&args.authorize, args.written.contains(&"auth")) {
        cx.syn_error(syn::Error::new(
            authorize.key_span,
            "`authorize` needs `auth`: the check receives the authenticated principal",
        ));
    }
}

/// Same reason: with optional authentication there may be no principal to judge.
fn optional_auth_excludes_authorize(args: &PolicyArgs, cx: &mut Ctxt) {
    if let (Some(_), Some(authorize)) = (&args.auth_optional, &args.authorize) {
        cx.syn_error(syn::Error::new(
            authorize.key_span,
            "`authorize` cannot be combined with `auth_optional`: the check needs a principal",
        ));
    }
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
        RateKeyArg::Claim(_) => "claim:NAME",
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
    if let (Some(scopes), false) = (&args.scopes, args.written.contains(&"auth")) {
        cx.syn_error(syn::Error::new(
            scopes.key_span,
            "`scopes` needs `auth`: add `auth = \"oauth\"` or `auth = \"api_key\"`",
        ));
    }
}

/// `#[secure]` without `auth` would be a public route in disguise; say so and point to `#[public]`.
fn secure_needs_auth(kind: AttrKind, args: &PolicyArgs, cx: &mut Ctxt) {
    // A malformed `auth`, or `scopes`, `auth_optional` or `authorize` without `auth`, already
    // have their own error.
    if kind == AttrKind::Secure
        && !args.written.contains(&"auth")
        && args.scopes.is_none()
        && args.auth_optional.is_none()
        && args.authorize.is_none()
    {
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

/// Parses `src` as the attribute's arguments and builds the policy: the policy's unit tests
/// share it. Returns the policy, if any, and whether an error was reported.
#[cfg(test)]
pub(crate) fn build_for_test(kind: AttrKind, src: &str) -> (Option<CheckedPolicy>, bool) {
    let mut cx = Ctxt::default();
    let attr: proc_macro2::TokenStream = src.parse().expect("the test's arguments are tokens");
    let args = crate::args::parse(kind, attr, &mut cx);
    let checked = build(kind, &args, &mut cx);
    (checked, cx.has_errors())
}
