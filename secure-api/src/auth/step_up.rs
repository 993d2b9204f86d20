//! Step-up authentication (RFC 9470): a route's `acr` values and `max_age`
//! (`#[secure(acr = [...], max_age = N)]`), checked on the verified token's claims.
//!
//! The check runs in step 5 of the [pipeline](crate::pipeline), after the rate limit and before
//! the scopes: the caller is authenticated (its token is valid, only not strong or recent
//! enough), so its refusals count against the principal's own quota, not as failed
//! authentications of the client's address (the penalty box would otherwise ban a user whose
//! login is merely old). Every way a token is checked (a JWT, an introspection answer, a cached
//! token) keeps all of its claims in [`Principal::claims`], so `acr` and `auth_time` are read
//! the same way whichever checked it.
//!
//! A token that does not meet the requirement gets 401 `insufficient_user_authentication`
//! (RFC 9470 §3), challenged with the scheme it came with (`Bearer`, or `DPoP` for a
//! DPoP-bound token), and the challenge names every requirement of the route: `acr_values`
//! (space-separated) and `max_age` (seconds), so the client knows what to ask its
//! authorization server for.

use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use crate::audit::Outcome;
use crate::auth::challenge;
use crate::auth::claims::{DEFAULT_LEEWAY_SECS, numeric_date_value, unix_now};
use crate::auth::{AuthConfig, AuthScheme, TokenError, bearer};
use crate::policy::RoutePolicy;
use crate::principal::Principal;
use crate::problem::Problem;

/// The RFC 9470 error code, in the challenge and the problem's `error` extension.
const ERROR_CODE: &str = "insufficient_user_authentication";

/// Why a token does not meet a route's step-up requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepUpError {
    /// `acr` is absent, not a string, or not one the route accepts.
    Acr,
    /// `auth_time` is absent or not a NumericDate, and the route has a `max_age`.
    MissingAuthTime,
    /// `auth_time` is more than `max_age` (plus the leeway) ago.
    TooOld,
    /// `auth_time` is later than now plus the leeway: no authentication happened then.
    InTheFuture,
}

impl StepUpError {
    /// The `error_description` and the problem's `detail`: the RFC's own wording, nothing
    /// about the token's claims.
    const fn description(self) -> &'static str {
        match self {
            Self::Acr => "A different authentication level is required.",
            Self::MissingAuthTime | Self::TooOld | Self::InTheFuture => "More recent authentication is required.",
        }
    }
}

/// The step-up rules on `claims` at `now` (seconds since the epoch), each a guarded
/// `return Err(..)`:
/// 1. with `acr_values`, `acr` must be a string equal to one of them;
/// 2. with `max_age`, `auth_time` must be a NumericDate, not later than `now + leeway`, and
///    `now - auth_time <= max_age + leeway`.
pub(crate) fn check_at(
    claims: &Map<String, Value>,
    acr_values: &[&str],
    max_age: Option<u64>,
    leeway: u64,
    now: u64,
) -> Result<(), StepUpError> {
    if !acr_values.is_empty() && !claims.get("acr").and_then(Value::as_str).is_some_and(|acr| acr_values.contains(&acr))
    {
        return Err(StepUpError::Acr);
    }
    let Some(max_age) = max_age else {
        return Ok(());
    };
    let Some(auth_time) = claims.get("auth_time").and_then(numeric_date_value) else {
        return Err(StepUpError::MissingAuthTime);
    };
    if auth_time > now.saturating_add(leeway) {
        return Err(StepUpError::InTheFuture);
    }
    if now.saturating_sub(auth_time) > max_age.saturating_add(leeway) {
        return Err(StepUpError::TooOld);
    }
    Ok(())
}

/// The clock-skew leeway of the app's token checkers: the smallest of every trusted issuer's
/// JWT verifier and the introspector (the strictest; never more lenient than the checker that
/// verified the token).
fn leeway_secs(config: &AuthConfig) -> u64 {
    let jwt = config.jwt.iter().flat_map(|issuers| issuers.verifiers()).map(|jwt| jwt.rules().leeway_secs()).min();
    #[cfg(feature = "idp")]
    let introspection = config.introspection.as_ref().map(|introspector| introspector.rules().leeway_secs());
    #[cfg(not(feature = "idp"))]
    let introspection = None;
    jwt.into_iter().chain(introspection).min().unwrap_or(DEFAULT_LEEWAY_SECS)
}

/// Passes when `policy` has no step-up requirement or `principal`'s token meets it; otherwise
/// 401 `insufficient_user_authentication`. `headers` only tell which scheme to challenge with.
pub(crate) fn require(
    config: &AuthConfig,
    policy: &RoutePolicy,
    principal: &Principal,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    if !policy.requires_step_up() {
        return Ok(());
    }
    // A clock before 1970 cannot judge `auth_time`: refuse (503) rather than accept.
    let Some(now) = unix_now() else {
        return Err(bearer::rejection(&config.realm, &TokenError::Unavailable));
    };
    // An API-key principal has no claims, so it fails here (closed); `#[secure]` refuses
    // `acr`/`max_age` on routes that accept API keys at compile time.
    check_at(principal.claims(), policy.acr_values(), policy.max_age(), leeway_secs(config), now)
        .map_err(|error| rejection(config, policy, crate::auth::scheme::presented_dpop(headers), error))
}

/// 401 `insufficient_user_authentication` naming the route's requirements (RFC 9470 §3).
fn rejection(config: &AuthConfig, policy: &RoutePolicy, dpop: bool, error: StepUpError) -> Problem {
    tracing::debug!(target: "secure_api::auth", reason = ?error, "step-up authentication required");
    let acr_values = policy.acr_values().join(" ");
    let max_age = policy.max_age().map(|seconds| seconds.to_string());
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(2);
    if !acr_values.is_empty() {
        params.push(("acr_values", &acr_values));
    }
    if let Some(max_age) = &max_age {
        params.push(("max_age", max_age));
    }
    let description = error.description();
    let challenge = if dpop {
        challenge::dpop_challenge(
            config.dpop.algorithms_parameter(),
            &config.realm,
            Some((ERROR_CODE, description)),
            &params,
        )
    } else {
        challenge::challenge_with(AuthScheme::Bearer, &config.realm, Some((ERROR_CODE, description)), &params)
    };
    let mut problem = Problem::new(StatusCode::UNAUTHORIZED, "insufficient-user-authentication", "Unauthorized")
        .with_detail(description)
        .with_extension("error", ERROR_CODE)
        .with_header(header::WWW_AUTHENTICATE, challenge)
        .with_outcome(Outcome::DENIED_INSUFFICIENT_USER_AUTHENTICATION);
    if !acr_values.is_empty() {
        problem = problem.with_extension("acr_values", acr_values.clone());
    }
    if let Some(seconds) = policy.max_age() {
        problem = problem.with_extension("max_age", seconds);
    }
    problem
}

/// The `DPoP` challenge of a DPoP-bound token (RFC 9449 §7.1 with RFC 9470's parameters), as
/// the app's other DPoP refusals challenge.
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_000_000;
    const MFA: &[&str] = &["urn:example:mfa", "phr"];

    fn claims(value: Value) -> Map<String, Value> {
        let Value::Object(claims) = value else { panic!("claims are an object") };
        claims
    }

    fn check(value: Value, acr: &[&str], max_age: Option<u64>) -> Result<(), StepUpError> {
        check_at(&claims(value), acr, max_age, 60, NOW)
    }

    #[test]
    fn a_route_without_requirements_accepts_any_claims() {
        assert_eq!(check(json!({}), &[], None), Ok(()));
    }

    #[test]
    fn acr_must_be_one_of_the_routes_values() {
        assert_eq!(check(json!({"acr": "phr"}), MFA, None), Ok(()));
        assert_eq!(check(json!({"acr": "urn:example:mfa"}), MFA, None), Ok(()));
        assert_eq!(check(json!({"acr": "urn:example:pwd"}), MFA, None), Err(StepUpError::Acr));
        assert_eq!(check(json!({}), MFA, None), Err(StepUpError::Acr));
    }

    #[test]
    fn an_acr_that_is_not_one_string_is_refused() {
        for bad in [json!(["phr"]), json!(1), json!(null), json!("phr urn:example:mfa"), json!("PHR")] {
            assert_eq!(check(json!({ "acr": bad }), MFA, None), Err(StepUpError::Acr), "{bad}");
        }
    }

    #[test]
    fn auth_time_must_be_present_and_a_numeric_date() {
        assert_eq!(check(json!({}), &[], Some(300)), Err(StepUpError::MissingAuthTime));
        for bad in [json!("recent"), json!(-5), json!(null), json!(true)] {
            assert_eq!(check(json!({ "auth_time": bad }), &[], Some(300)), Err(StepUpError::MissingAuthTime), "{bad}");
        }
    }

    #[test]
    fn auth_time_may_be_max_age_plus_leeway_old_and_no_older() {
        assert_eq!(check(json!({"auth_time": NOW}), &[], Some(300)), Ok(()));
        assert_eq!(check(json!({"auth_time": NOW - 360}), &[], Some(300)), Ok(()));
        assert_eq!(check(json!({"auth_time": NOW - 361}), &[], Some(300)), Err(StepUpError::TooOld));
        assert_eq!(
            check_at(&claims(json!({"auth_time": NOW - 301})), &[], Some(300), 0, NOW),
            Err(StepUpError::TooOld)
        );
    }

    #[test]
    fn an_auth_time_in_the_future_beyond_the_leeway_is_refused() {
        assert_eq!(check(json!({"auth_time": NOW + 60}), &[], Some(300)), Ok(()));
        assert_eq!(check(json!({"auth_time": NOW + 61}), &[], Some(300)), Err(StepUpError::InTheFuture));
        assert_eq!(check(json!({"auth_time": u64::MAX}), &[], Some(u64::MAX)), Err(StepUpError::InTheFuture));
    }

    #[test]
    fn both_requirements_apply_and_acr_is_checked_first() {
        let good = json!({"acr": "phr", "auth_time": NOW - 10});
        assert_eq!(check(good, MFA, Some(300)), Ok(()));
        assert_eq!(check(json!({"acr": "pwd", "auth_time": 1}), MFA, Some(300)), Err(StepUpError::Acr));
        assert_eq!(check(json!({"acr": "phr", "auth_time": 1}), MFA, Some(300)), Err(StepUpError::TooOld));
    }

    fn config(resource_metadata: Option<&str>) -> AuthConfig {
        AuthConfig {
            realm: challenge::Realm {
                name: "api".to_owned(),
                api_key_header: http::HeaderName::from_static("x-api-key"),
                resource_metadata: resource_metadata.map(str::to_owned),
            },
            jwt: None,
            #[cfg(feature = "idp")]
            introspection: None,
            api_keys: None,
            token_cache: None,
            dpop: crate::auth::dpop::DpopVerifier::builder().build(),
        }
    }

    fn response(problem: Problem) -> (StatusCode, String, Value) {
        let body = problem.body();
        let response = axum::response::IntoResponse::into_response(problem);
        let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        (response.status(), challenge, body)
    }

    #[test]
    fn the_bearer_challenge_names_every_requirement() {
        const POLICY: RoutePolicy = RoutePolicy::secured("t::r").with_acr_values(MFA).with_max_age(300);
        let (status, challenge, body) = response(rejection(&config(None), &POLICY, false, StepUpError::TooOld));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge,
            "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
             error_description=\"More recent authentication is required.\", \
             acr_values=\"urn:example:mfa phr\", max_age=\"300\""
        );
        assert_eq!(body["error"], ERROR_CODE);
        assert_eq!(body["acr_values"], "urn:example:mfa phr");
        assert_eq!(body["max_age"], 300);
        assert_eq!(body["detail"], "More recent authentication is required.");
    }

    #[test]
    fn a_dpop_token_is_challenged_with_dpop_and_the_resource_metadata() {
        const POLICY: RoutePolicy = RoutePolicy::secured("t::r").with_acr_values(&["phr"]);
        let config = config(Some("https://api.example/.well-known/oauth-protected-resource"));
        let (_, challenge, body) = response(rejection(&config, &POLICY, true, StepUpError::Acr));
        assert!(challenge.starts_with("DPoP algs=\""), "{challenge}");
        assert!(
            challenge.ends_with(
                ", error=\"insufficient_user_authentication\", \
                 error_description=\"A different authentication level is required.\", acr_values=\"phr\", \
                 resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\""
            ),
            "{challenge}"
        );
        assert!(body.get("max_age").is_none());
    }

    #[test]
    fn an_api_key_principal_fails_closed() {
        const POLICY: RoutePolicy = RoutePolicy::secured("t::r").with_max_age(300);
        let principal = Principal::new("reports", ["r"], AuthScheme::ApiKey);
        let problem = require(&config(None), &POLICY, &principal, &HeaderMap::new()).unwrap_err();
        assert_eq!(problem.status(), StatusCode::UNAUTHORIZED);
        const OPEN: RoutePolicy = RoutePolicy::secured("t::open");
        assert!(require(&config(None), &OPEN, &principal, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn the_leeway_is_the_strictest_configured() {
        assert_eq!(leeway_secs(&config(None)), DEFAULT_LEEWAY_SECS);
        let verifier = |issuer: &str, leeway: u64| {
            crate::auth::JwtVerifier::builder()
                .key(crate::auth::VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
                .issuer(issuer)
                .leeway(std::time::Duration::from_secs(leeway))
                .build()
                .unwrap()
        };
        let mut with_jwt = config(None);
        with_jwt.jwt = Some(verifier("https://a.example", 5).into());
        assert_eq!(leeway_secs(&with_jwt), 5);
        // Several issuers: the smallest of their leeways.
        let issuers = crate::auth::Issuers::builder()
            .trust(verifier("https://a.example", 30))
            .trust(verifier("https://b.example", 7))
            .build()
            .unwrap();
        with_jwt.jwt = Some(issuers);
        assert_eq!(leeway_secs(&with_jwt), 7);
    }
}
