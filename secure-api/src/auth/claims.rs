//! [`ClaimRules`] and [`validate_claims`] (documented on the item, where `secure_api::auth` shows it).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::auth::error::TokenError;
use crate::auth::scheme::AuthScheme;
use crate::auth::scope::{parse_scope_array, parse_scope_claim};
use crate::principal::Principal;

/// The default clock-skew allowance for `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// A claim and the JSON type it must have.
type TypedClaim = (&'static str, fn(&Value) -> bool);

/// The claims RFC 9068 §2.2 requires beyond `iss`, `exp`, `aud` and `sub`.
const RFC9068_CLAIMS: [TypedClaim; 3] =
    [("client_id", Value::is_string), ("iat", Value::is_number), ("jti", Value::is_string)];

/// The claim rules every bearer token meets, however it was checked: a JWT once its signature
/// verified, an introspection answer (RFC 7662), a token served from the
/// [`TokenCache`](crate::auth::TokenCache). One options type, [`ClaimRules`], and one check,
/// [`validate_claims`], so the three paths cannot drift apart.
///
/// The rules, in the order [`validate_claims`] checks them (the first that fails decides the error):
/// 1. **required claims are present**: `exp` (unless [`ClaimRules::require_exp`]`(false)`),
///    `iss` when an issuer is configured, `aud` when an audience is configured, `sub` under
///    RFC 9068 — else [`TokenError::MissingClaim`];
/// 2. **`exp` and `nbf` are NumericDates** when present (a non-negative number; a fraction is
///    rounded to the nearest second, as `jsonwebtoken` reads it);
/// 3. **not expired**: refused when `exp < now - leeway` ([`TokenError::Expired`]);
/// 4. **already valid**: refused when `nbf > now + leeway` ([`TokenError::NotYetValid`]);
/// 5. **`iss` is one string** when present (RFC 7519 §4.1.1; RFC 7662 §2.2): an array is
///    refused even when it lists a trusted issuer, as such a token is not one the configured
///    issuer vouched for alone; then it must be a configured issuer ([`TokenError::WrongIssuer`]);
/// 6. **`aud` names this API** when an audience is configured: a string, or an array of strings
///    of which one is configured ([`TokenError::WrongAudience`]);
/// 7. **RFC 9068 claims** (the [`TokenProfile::Rfc9068`](crate::auth::TokenProfile::Rfc9068)
///    profile): `client_id` and `jti` strings, `iat` a number.
///
/// These are `jsonwebtoken`'s own comparisons (its `Validation`), written once where
/// introspection answers and cached tokens can use them too; `jsonwebtoken` itself now only
/// checks signatures.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use secure_api::auth::TokenError;
/// use secure_api::auth::{ClaimRules, validate_claims};
/// use serde_json::json;
///
/// let rules = ClaimRules::new().issuer("https://idp.example").audience("items-api").leeway(Duration::from_secs(30));
/// let claims = json!({"iss": "https://idp.example", "aud": ["items-api"], "exp": 4_102_444_800u64});
/// assert_eq!(validate_claims(claims.as_object().unwrap(), &rules), Ok(()));
/// let claims = json!({"iss": "https://evil.example", "aud": "items-api", "exp": 4_102_444_800u64});
/// assert_eq!(validate_claims(claims.as_object().unwrap(), &rules), Err(TokenError::WrongIssuer));
/// ```
///
/// The defaults ([`ClaimRules::new`], [`Default`]):
/// - leeway **60 s** ([`DEFAULT_LEEWAY_SECS`]) for `exp` and `nbf`;
/// - `exp` **required** (introspection answers, for which RFC 7662 makes it optional, turn
///   this off);
/// - **no issuer**: `iss` is not required, but is one string when present;
/// - **no audience**: `aud` is not read;
/// - RFC 9068's extra claims **not required**.
///
/// [`JwtVerifierBuilder`](crate::auth::JwtVerifierBuilder) and
/// [`IntrospectorBuilder`](crate::auth::IntrospectorBuilder) fill one of these
/// from their `issuer`, `audience` and `leeway` methods.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use secure_api::auth::ClaimRules;
///
/// let rules = ClaimRules::new()
///     .issuer("https://idp.example")
///     .audience("items-api")
///     .audience("reports-api")
///     .leeway(Duration::from_secs(30));
/// assert_eq!(rules.leeway_secs(), 30);
/// assert_eq!(ClaimRules::default().leeway_secs(), 60);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ClaimRules {
    leeway: u64,
    issuers: Vec<String>,
    audiences: Vec<String>,
    require_exp: bool,
    rfc9068: bool,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimRules {
    /// The default rules (see the type's docs).
    pub fn new() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY_SECS,
            issuers: Vec::new(),
            audiences: Vec::new(),
            require_exp: true,
            rfc9068: false,
        }
    }

    /// Requires `iss` to be this issuer (call again to accept several).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Requires `aud` to name this audience (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s), in whole seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }

    /// Whether `exp` must be present (default `true`).
    pub fn require_exp(mut self, required: bool) -> Self {
        self.require_exp = required;
        self
    }

    /// Requires the claims RFC 9068 §2.2 adds: `sub`, `client_id`, `iat` and `jti`.
    pub(crate) fn require_rfc9068_claims(mut self) -> Self {
        self.rfc9068 = true;
        self
    }

    /// The clock-skew allowance, in seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway
    }

    /// The configured issuers, in the order they were added.
    pub(crate) fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// Whether an issuer is configured.
    pub(crate) fn has_issuer(&self) -> bool {
        !self.issuers.is_empty()
    }

    /// Whether an audience is configured.
    pub(crate) fn has_audience(&self) -> bool {
        !self.audiences.is_empty()
    }
}

/// Checks `claims` against `rules` at the current time, by the rules listed on [`ClaimRules`].
///
/// A clock set before 1970 cannot judge `exp`: the token is refused as
/// [`TokenError::Unavailable`] (503) rather than accepted.
///
/// # Examples
/// ```
/// use secure_api::auth::TokenError;
/// use secure_api::auth::{ClaimRules, validate_claims};
/// use serde_json::json;
///
/// let expired = json!({"exp": 1_000_000});
/// assert_eq!(validate_claims(expired.as_object().unwrap(), &ClaimRules::new()), Err(TokenError::Expired));
/// let no_exp = json!({"sub": "alice"});
/// assert!(validate_claims(no_exp.as_object().unwrap(), &ClaimRules::new()).is_err());
/// assert!(validate_claims(no_exp.as_object().unwrap(), &ClaimRules::new().require_exp(false)).is_ok());
/// ```
pub fn validate_claims(claims: &Map<String, Value>, rules: &ClaimRules) -> Result<(), TokenError> {
    validate_at(claims, rules, unix_now().ok_or(TokenError::Unavailable)?)
}

/// [`validate_claims`] at `now` (seconds since the epoch): each rule one guarded `return Err(..)`.
pub(crate) fn validate_at(claims: &Map<String, Value>, rules: &ClaimRules, now: u64) -> Result<(), TokenError> {
    let exp = numeric_date(claims, "exp");
    let nbf = numeric_date(claims, "nbf");
    let iss = claims.get("iss");
    let aud = claims.get("aud");
    // 1. Required claims.
    if rules.require_exp && !matches!(exp, Some(Ok(_))) {
        return Err(missing("exp"));
    }
    if rules.has_issuer() && !iss.is_some_and(is_string_or_strings) {
        return Err(missing("iss"));
    }
    if rules.has_audience() && !aud.is_some_and(is_string_or_strings) {
        return Err(missing("aud"));
    }
    if rules.rfc9068 && !claims.get("sub").is_some_and(Value::is_string) {
        return Err(missing("sub"));
    }
    // 2. NumericDates.
    if matches!(exp, Some(Err(()))) {
        return Err(missing("exp"));
    }
    if matches!(nbf, Some(Err(()))) {
        return Err(missing("nbf"));
    }
    // 3, 4. Times.
    check_times(exp.and_then(Result::ok), nbf.and_then(Result::ok), rules, now)?;
    // 5. Issuer.
    if iss.is_some_and(|iss| !iss.is_string()) {
        return Err(missing("iss"));
    }
    if rules.has_issuer()
        && !iss.and_then(Value::as_str).is_some_and(|iss| rules.issuers.iter().any(|known| known == iss))
    {
        return Err(TokenError::WrongIssuer);
    }
    // 6. Audience.
    if rules.has_audience() && !aud.is_some_and(|aud| names_one_of(aud, &rules.audiences)) {
        return Err(TokenError::WrongAudience);
    }
    // 7. RFC 9068.
    if rules.rfc9068
        && let Some((claim, _)) =
            RFC9068_CLAIMS.iter().find(|(claim, has_type)| !claims.get(*claim).is_some_and(has_type))
    {
        return Err(missing(claim));
    }
    Ok(())
}

/// Steps 3 and 4 of [`validate_at`], the only ones whose answer changes with time: `exp` and
/// `nbf` (as NumericDates) against `now` with the rules' leeway, with `jsonwebtoken`'s exact
/// comparisons. The token cache runs these alone on a hit (the rest passed when the entry was
/// stored, under the same verifier's rules, and cannot change).
pub(crate) fn check_times(exp: Option<u64>, nbf: Option<u64>, rules: &ClaimRules, now: u64) -> Result<(), TokenError> {
    if let Some(exp) = exp
        && exp < now.saturating_sub(rules.leeway)
    {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = nbf
        && nbf > now.saturating_add(rules.leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// `exp` / `nbf` as a NumericDate: `None` when absent (or `null`, as `jsonwebtoken` reads it),
/// `Some(Err(()))` when present but not one.
pub(crate) fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<Result<u64, ()>> {
    match claims.get(name)? {
        Value::Null => None,
        value => Some(numeric_date_value(value).ok_or(())),
    }
}

/// A NumericDate as `jsonwebtoken` reads it: a non-negative integer, or a finite non-negative
/// number rounded to the nearest second.
pub(crate) fn numeric_date_value(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|float| float.is_finite() && *float >= 0.0 && *float < u64::MAX as f64)
            .map(|float| float.round() as u64)
    })
}

/// A StringOrURI or an array of them, as `jsonwebtoken` reads `aud` (and counts `iss` present).
fn is_string_or_strings(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        _ => false,
    }
}

/// Whether `aud` (one string or an array of strings) names one of `known`. No allocation: this
/// runs on every request, cache hits included.
fn names_one_of(aud: &Value, known: &[String]) -> bool {
    let is_known = |aud: &str| known.iter().any(|known| known == aud);
    match aud {
        Value::String(aud) => is_known(aud),
        Value::Array(items) => items.iter().filter_map(Value::as_str).any(is_known),
        _ => false,
    }
}

fn missing(claim: &str) -> TokenError {
    TokenError::MissingClaim(claim.to_owned())
}

/// Seconds since the epoch; `None` for a clock before 1970.
pub(crate) fn unix_now() -> Option<u64> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|since| since.as_secs())
}

/// Builds the principal from validated claims: id from `sub` (or `client_id`), scopes from
/// `scope` or `scp`. JWT verification and introspection both end here, so both read claims
/// alike: `scope` (or a string `scp`) is split on SP only, and every scope must be an RFC 6749
/// §3.3 scope token; an `scp` array holds one scope token per item. Anything else refuses the
/// token (see [`parse_scope_claim`]).
pub(crate) fn principal_from_claims(claims: Map<String, Value>) -> Result<Principal, TokenError> {
    let id = ["sub", "client_id"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
        .filter(|id| !id.is_empty())
        .ok_or(TokenError::NoSubject)?
        .to_owned();
    let scopes: Vec<String> = match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => parse_scope_claim(scope).ok_or_else(|| missing("scope"))?,
        (Some(_), _) => return Err(missing("scope")),
        (None, Some(Value::Array(items))) => parse_scope_array(items).ok_or_else(|| missing("scp"))?,
        (None, Some(Value::String(scope))) => parse_scope_claim(scope).ok_or_else(|| missing("scp"))?,
        (None, Some(_)) => return Err(missing("scp")),
        (None, None) => Vec::new(),
    };
    Ok(Principal::new(id, scopes, AuthScheme::Bearer).with_claims(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_000_000;

    fn check(claims: Value, rules: &ClaimRules) -> Result<(), TokenError> {
        let Value::Object(claims) = claims else { panic!("claims are an object") };
        validate_at(&claims, rules, NOW)
    }

    /// Issuer `iss`, audience `aud`, default leeway.
    fn strict() -> ClaimRules {
        ClaimRules::new().issuer("iss").audience("aud")
    }

    fn good() -> Value {
        json!({"iss": "iss", "aud": "aud", "exp": NOW + 60, "sub": "alice"})
    }

    fn with(name: &str, value: Value) -> Value {
        let mut claims = good();
        claims[name] = value;
        claims
    }

    fn without(name: &str) -> Value {
        let mut claims = good();
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    #[test]
    fn the_defaults_are_those_documented() {
        let rules = ClaimRules::default();
        assert_eq!(rules, ClaimRules::new());
        assert_eq!(rules.leeway_secs(), 60);
        assert!(rules.require_exp && !rules.rfc9068 && !rules.has_issuer() && !rules.has_audience());
    }

    #[test]
    fn good_claims_pass() {
        assert_eq!(check(good(), &strict()), Ok(()));
        assert_eq!(check(json!({"exp": NOW}), &ClaimRules::new()), Ok(()));
    }

    #[test]
    fn a_missing_exp_is_refused() {
        assert_eq!(check(without("exp"), &strict()), Err(missing("exp")));
        assert_eq!(check(with("exp", Value::Null), &strict()), Err(missing("exp")));
    }

    #[test]
    fn a_missing_exp_is_accepted_when_not_required() {
        assert_eq!(check(without("exp"), &strict().require_exp(false)), Ok(()));
    }

    #[test]
    fn an_exp_that_is_not_a_numeric_date_is_refused_even_when_optional() {
        for bad in [json!("soon"), json!(-1), json!(true)] {
            assert_eq!(check(with("exp", bad.clone()), &strict()), Err(missing("exp")), "{bad}");
            assert_eq!(check(with("exp", bad), &strict().require_exp(false)), Err(missing("exp")));
        }
    }

    #[test]
    fn an_nbf_that_is_not_a_numeric_date_is_refused() {
        assert_eq!(check(with("nbf", json!("now")), &strict()), Err(missing("nbf")));
        assert_eq!(check(with("nbf", Value::Null), &strict()), Ok(()), "null is absent");
    }

    #[test]
    fn a_fractional_numeric_date_is_rounded_like_jsonwebtoken() {
        assert_eq!(numeric_date_value(&json!(12.5)), Some(13));
        assert_eq!(numeric_date_value(&json!(-1)), None);
        assert_eq!(numeric_date_value(&json!("12")), None);
        let leeway = NOW - 60;
        assert_eq!(check(with("exp", json!(leeway as f64 - 0.4)), &strict()), Ok(()));
        assert_eq!(check(with("exp", json!(leeway as f64 - 0.6)), &strict()), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_is_expired_only_past_exp_plus_leeway() {
        assert_eq!(check(with("exp", json!(NOW - 60)), &strict()), Ok(()));
        assert_eq!(check(with("exp", json!(NOW - 61)), &strict()), Err(TokenError::Expired));
        let tight = strict().leeway(Duration::from_secs(10));
        assert_eq!(check(with("exp", json!(NOW - 10)), &tight), Ok(()));
        assert_eq!(check(with("exp", json!(NOW - 11)), &tight), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_is_not_yet_valid_only_before_nbf_minus_leeway() {
        assert_eq!(check(with("nbf", json!(NOW + 60)), &strict()), Ok(()));
        assert_eq!(check(with("nbf", json!(NOW + 61)), &strict()), Err(TokenError::NotYetValid));
    }

    #[test]
    fn a_missing_issuer_is_refused_when_one_is_configured() {
        assert_eq!(check(without("iss"), &strict()), Err(missing("iss")));
        assert_eq!(check(without("iss"), &ClaimRules::new().audience("aud")), Ok(()));
    }

    #[test]
    fn an_issuer_array_is_refused_even_when_it_lists_the_issuer() {
        assert_eq!(check(with("iss", json!(["iss"])), &strict()), Err(missing("iss")));
        assert_eq!(check(with("iss", json!(["evil", "iss"])), &strict()), Err(missing("iss")));
        assert_eq!(check(with("iss", json!(["iss"])), &ClaimRules::new()), Err(missing("iss")));
        assert_eq!(check(with("iss", json!(7)), &ClaimRules::new()), Err(missing("iss")));
    }

    #[test]
    fn an_unknown_issuer_is_refused() {
        assert_eq!(check(with("iss", json!("evil")), &strict()), Err(TokenError::WrongIssuer));
        assert_eq!(check(with("iss", json!("evil")), &strict().issuer("evil")), Ok(()));
        assert_eq!(check(with("iss", json!("anyone")), &ClaimRules::new()), Ok(()));
    }

    #[test]
    fn a_missing_or_malformed_audience_is_refused_when_one_is_configured() {
        assert_eq!(check(without("aud"), &strict()), Err(missing("aud")));
        assert_eq!(check(with("aud", json!(["aud", 7])), &strict()), Err(missing("aud")));
        assert_eq!(check(with("aud", json!({"aud": true})), &strict()), Err(missing("aud")));
    }

    #[test]
    fn an_audience_that_names_another_api_is_refused() {
        assert_eq!(check(with("aud", json!("other")), &strict()), Err(TokenError::WrongAudience));
        assert_eq!(check(with("aud", json!([])), &strict()), Err(TokenError::WrongAudience));
        assert_eq!(check(with("aud", json!(["other", "aud"])), &strict()), Ok(()));
    }

    #[test]
    fn the_audience_is_not_read_when_none_is_configured() {
        assert_eq!(check(with("aud", json!(7)), &ClaimRules::new().issuer("iss")), Ok(()));
    }

    #[test]
    fn rfc9068_requires_sub_client_id_iat_and_jti() {
        let rules = strict().require_rfc9068_claims();
        let full = with("client_id", json!("app"));
        let full = {
            let mut full = full;
            full["iat"] = json!(NOW);
            full["jti"] = json!("t-1");
            full
        };
        assert_eq!(check(full.clone(), &rules), Ok(()));
        for claim in ["sub", "client_id", "iat", "jti"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(claim);
            assert_eq!(check(partial, &rules), Err(missing(claim)), "{claim}");
        }
        let mut wrong_type = full;
        wrong_type["iat"] = json!("now");
        assert_eq!(check(wrong_type, &rules), Err(missing("iat")));
    }

    #[test]
    fn required_claims_are_checked_before_times() {
        let expired_without_issuer = with("exp", json!(NOW - 3600));
        let mut expired_without_issuer = expired_without_issuer;
        expired_without_issuer.as_object_mut().unwrap().remove("iss");
        assert_eq!(check(expired_without_issuer, &strict()), Err(missing("iss")));
    }

    #[test]
    fn validate_reads_the_current_time() {
        assert!(unix_now().is_some_and(|now| now > NOW));
        let Value::Object(claims) = good() else { unreachable!() };
        assert_eq!(validate_claims(&claims, &strict()), Err(TokenError::Expired), "NOW is in 1970");
    }

    #[test]
    fn the_principal_names_sub_or_client_id_and_its_scopes() {
        let Value::Object(claims) = json!({"client_id": "app", "scope": "a b"}) else { unreachable!() };
        let principal = principal_from_claims(claims).unwrap();
        assert_eq!((principal.id(), principal.scopes()), ("app", &["a".to_owned(), "b".to_owned()][..]));
        let Value::Object(claims) = json!({"sub": "", "scope": "a"}) else { unreachable!() };
        assert_eq!(principal_from_claims(claims).unwrap_err(), TokenError::NoSubject);
    }
}
