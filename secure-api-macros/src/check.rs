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
        acr_values: args.acr.as_ref().map(|acr| acr.value.clone()),
        max_age: args.max_age.as_ref().map(|max_age| max_age.value),
        errors: args.errors.as_ref().map(|errors| errors.value),
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
        acr_values: None,
        max_age: None,
        errors: None,
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
    crate::args::step_up::check(args, cx);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Validation;

    fn secure(src: &str) -> (Option<CheckedPolicy>, bool) {
        build_for_test(AttrKind::Secure, src)
    }

    /// The combination is refused: an error, and no policy to expand.
    fn refused(kind: AttrKind, src: &str) -> bool {
        let (checked, errors) = build_for_test(kind, src);
        checked.is_none() && errors
    }

    #[test]
    fn a_valid_policy_builds_with_every_value_checked() {
        let (checked, errors) = secure(
            r#"auth = "oauth", scopes = ["items:write"], rate = ["10/1s", "1000/1h"], key = "principal",
               allow_ips = ["10.0.0.0/8"], deny_ips = ["10.1.0.0/16"], validate, max_body = "16KiB",
               bound = "dpop", threat(exempt(xss = ["body.description"])), authorize = crate::can_edit,
               acr = ["urn:example:mfa", "phr"], max_age = 300"#,
        );
        assert!(!errors);
        let checked = checked.expect("a valid policy builds");
        assert!(checked.kind == AttrKind::Secure);
        assert_eq!(checked.auth, Some(vec![AuthScheme::Bearer]));
        assert_eq!(checked.scopes, Some(vec!["items:write".to_owned()]));
        assert!(!checked.optional_auth);
        assert!(checked.authorize.is_some());
        let rates: Vec<(u32, u64)> = checked.rates.iter().map(|rate| (rate.count, rate.window_secs)).collect();
        assert_eq!(rates, [(10, 1), (1000, 3600)]);
        assert_eq!(checked.rate_key, Some(RateKeyArg::Principal));
        assert_eq!(checked.allow_ips.map(|list| list.len()), Some(1));
        assert_eq!(checked.deny_ips.map(|list| list.len()), Some(1));
        assert_eq!(checked.validation, Validation::Enforced);
        assert_eq!(checked.max_body, Some(16 * 1024));
        assert_eq!(checked.bound, Some("Dpop"));
        assert_eq!(checked.acr_values, Some(vec!["urn:example:mfa".to_owned(), "phr".to_owned()]));
        assert_eq!(checked.max_age, Some(300));
        assert_eq!(checked.threat_exempt.len(), 1);
        assert!(checked.threat.is_none() && checked.state.is_none());
    }

    #[test]
    fn what_was_not_written_is_absent_not_unchecked() {
        let (checked, errors) = build_for_test(AttrKind::Public, "");
        assert!(!errors);
        let checked = checked.expect("a bare `#[public]` builds");
        assert!(checked.auth.is_none() && checked.scopes.is_none() && checked.rates.is_empty());
        assert_eq!(checked.validation, Validation::Unstated);
        let (checked, _) = secure(r#"auth = "api_key", validate = false, rate = "10/1m", key = "api_key""#);
        let checked = checked.expect("a single rate with its key builds");
        assert_eq!(checked.validation, Validation::OptedOut);
        assert_eq!(checked.rates.len(), 1);
        assert_eq!(checked.rate_key, Some(RateKeyArg::ApiKey));
        let (checked, _) = secure(r#"auth = "oauth", auth_optional"#);
        assert!(checked.expect("optional authentication builds").optional_auth);
    }

    #[test]
    fn a_malformed_argument_builds_nothing() {
        // No cross-argument rule fails here: the parse errors alone refuse the policy.
        assert!(refused(AttrKind::Secure, r#"auth = "oauth", rate = "ten per minute""#));
        assert!(refused(AttrKind::Secure, r#"auth = "oauth", colour = "red""#));
        assert!(refused(AttrKind::Secure, r#"auth = "oauth", auth = "oauth""#));
        assert!(refused(AttrKind::Secure, r#"auth = "oauth", validate = "no""#));
        assert!(refused(AttrKind::Public, r#"auth = "oauth""#));
        assert!(refused(AttrKind::Secure, r#"auth = "oauth" rate"#));
    }

    #[test]
    fn each_invalid_combination_builds_nothing() {
        for src in [
            r#"scopes = ["items:read"]"#,
            "",
            r#"rate = "10/1m""#,
            "auth_optional",
            r#"auth = "oauth", auth_optional, scopes = ["items:read"]"#,
            "authorize = can_edit",
            r#"auth = "oauth", auth_optional, authorize = can_edit"#,
            r#"auth = "oauth", allow_ips = ["10.0.0.0/8"], deny_ips = ["10.0.0.0/8"]"#,
            r#"auth = "oauth", allow_ips = ["10.1.0.0/16"], deny_ips = ["10.0.0.0/8"]"#,
            r#"auth = "oauth", key = "principal""#,
            r#"auth = "oauth", rate = "10/1m", key = "api_key""#,
            r#"auth = "oauth", max_body = "16KiB""#,
            r#"auth = "oauth", validate = false, max_body = "16KiB""#,
            r#"auth = "api_key", bound = "dpop""#,
            r#"auth = "api_key", acr = ["phr"]"#,
            r#"auth = "oauth | api_key", max_age = 300"#,
            r#"auth = "oauth", auth_optional, acr = ["phr"]"#,
            r#"auth = "oauth", auth_optional, max_age = 300"#,
            r#"acr = ["phr"]"#,
        ] {
            assert!(refused(AttrKind::Secure, src), "`#[secure({src})]` built a policy");
        }
        for src in [
            r#"acr = ["phr"]"#,
            "max_age = 300",
            r#"rate = "10/1m", key = "principal""#,
            r#"rate = "10/1m", key = "claim:sub""#,
            r#"key = "ip""#,
        ] {
            assert!(refused(AttrKind::Public, src), "`#[public({src})]` built a policy");
        }
    }

    #[test]
    fn the_error_format_is_a_public_routes_choice() {
        let (checked, errors) = build_for_test(AttrKind::Public, r#"rate = "10/1m", errors = "oauth""#);
        assert!(!errors);
        assert_eq!(checked.expect("a token endpoint's policy builds").errors, Some("OAuth"));
        assert!(build_for_test(AttrKind::Public, "").0.is_some_and(|checked| checked.errors.is_none()));
        assert!(refused(AttrKind::Secure, r#"auth = "oauth", errors = "oauth""#));
        assert!(refused(AttrKind::Public, r#"errors = "rfc6749""#));
    }

    #[test]
    fn the_fallback_declares_nothing() {
        let fallback = fallback(AttrKind::Secure);
        assert!(fallback.auth.is_none() && fallback.authorize.is_none() && fallback.state.is_none());
        assert!(fallback.rates.is_empty() && fallback.threat_exempt.is_empty());
        assert!(fallback.acr_values.is_none() && fallback.max_age.is_none() && fallback.errors.is_none());
        assert_eq!(fallback.validation, Validation::Unstated);
    }
}
