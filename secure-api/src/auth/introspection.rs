//! [`Introspector`]: RFC 7662 token introspection (documented on the item, where `secure_api::auth` shows it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use reqwest::Url;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::claims::{self, ClaimRules, principal_from_claims};
use crate::auth::error::TokenError;
use crate::auth::fetch;
use crate::config::ConfigError;
use crate::outage::Outage;
use crate::principal::Principal;
use crate::secret::Secret;

/// Default longest time an introspection answer is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default number of cached answers.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Default total time allowed for one introspection request (it runs on the request path).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How we authenticate to the introspection endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// Opaque bearer tokens, checked with the authorization server's introspection endpoint
/// (RFC 7662).
///
/// - The request is a client-authenticated `POST` (`client_secret_basic` by default, or
///   `client_secret_post`) with `token` and `token_type_hint=access_token`.
/// - Only `"active": true` passes; the answer's claims then go through the same
///   [`claims::validate_claims`] as a JWT's (`exp`, `nbf`, issuer,
///   audience, leeway; `iss` one string), except that `exp` is optional (RFC 7662 §2.2);
///   refresh tokens are refused, and `scope` is split on SP only (RFC 6749 §3.3), as for a JWT.
/// - Answers are cached under the token's SHA-256 (never the token itself), for no longer than
///   the configured TTL nor the token's `exp`; the cache (`quick_cache`, as for the
///   [`TokenCache`](crate::auth::TokenCache)) holds a bounded number of entries.
/// - When the endpoint is unreachable, times out or answers anything but 200 with JSON, the
///   request is denied with **503** ([`TokenError::Unavailable`]): we cannot say the token is
///   bad, only that we cannot accept it now. The failure is logged once per outage; neither the
///   token nor the client secret ever reaches a log line.
///
/// Checks opaque access tokens with an RFC 7662 introspection endpoint, caching the answers.
/// Cheap to clone: clones share one cache.
///
/// Add it with [`SecurityBuilder::introspection`](crate::SecurityBuilder::introspection). A
/// bearer token that looks like a JWT goes to the [`JwtVerifier`](crate::auth::JwtVerifier)
/// when one is configured; every other bearer token is introspected.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use secure_api::auth::Introspector;
///
/// let introspector = Introspector::builder(
///     "https://idp.example/oauth2/introspect",
///     "items-api",
///     "the-resource-servers-client-secret",
/// )
/// .audience("items-api")
/// .cache_ttl(Duration::from_secs(30))
/// .build()
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Introspector {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Url,
    client: reqwest::Client,
    client_id: String,
    client_secret: Secret<String>,
    client_auth: ClientAuth,
    rules: ClaimRules,
    cache_ttl: Duration,
    /// Answers by token digest, each with its deadline; `None` when the capacity is zero.
    cache: Option<Cache<[u8; 32], Answer>>,
    /// Requests are failing: logged once per outage.
    outage: Outage,
}

/// A cached verdict and the instant it stops being served.
type Answer = (Result<Principal, TokenError>, Instant);

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("client_id", &self.inner.client_id)
            .field("client_auth", &self.inner.client_auth)
            .field("cache_ttl", &self.inner.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Introspector`]; see [`Introspector::builder`].
#[derive(Debug)]
#[must_use]
pub struct IntrospectorBuilder {
    endpoint: String,
    client_id: String,
    client_secret: Secret<String>,
    client_auth: ClientAuth,
    rules: ClaimRules,
    cache_ttl: Duration,
    cache_capacity: usize,
    timeout: Duration,
    allow_http: bool,
}

impl IntrospectorBuilder {
    /// How to authenticate to the endpoint (default [`ClientAuth::Basic`]).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Requires the response's `iss` to be this issuer (call again to accept several).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.rules = self.rules.issuer(issuer);
        self
    }

    /// Requires the response's `aud` to name this audience (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.rules = self.rules.audience(audience);
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules = self.rules.leeway(leeway);
        self
    }

    /// Longest time an answer is reused (default 60 s); also how long a revoked token may
    /// still pass. `Duration::ZERO` disables the cache.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Most answers kept (default 10 000); the least useful go first (S3-FIFO).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Total time allowed for one request (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http endpoint on a non-loopback host (development only: the client
    /// secret and the tokens would cross the network in clear).
    pub fn allow_http(mut self, allowed: bool) -> Self {
        self.allow_http = allowed;
        self
    }

    /// Checks the configuration and builds the introspector. Makes no request.
    pub fn build(self) -> Result<Introspector, ConfigError> {
        let endpoint = fetch::provider_url("introspection endpoint", &self.endpoint, self.allow_http)?;
        if self.client_id.is_empty() || self.client_secret.expose().is_empty() {
            return Err(ConfigError::new("introspection needs a client id and a client secret"));
        }
        Ok(Introspector {
            inner: Arc::new(Inner {
                endpoint,
                client: fetch::client(self.timeout)?,
                client_id: self.client_id,
                client_secret: self.client_secret,
                client_auth: self.client_auth,
                rules: self.rules,
                cache_ttl: self.cache_ttl,
                cache: (self.cache_capacity > 0).then(|| Cache::new(self.cache_capacity)),
                outage: Outage::new(),
            }),
        })
    }
}

impl Introspector {
    /// The claim rules answers are checked with (their leeway also serves the step-up check).
    pub(crate) fn rules(&self) -> &ClaimRules {
        &self.inner.rules
    }

    /// Starts configuring introspection at `endpoint`, authenticating as `client_id` with
    /// `client_secret`.
    pub fn builder(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> IntrospectorBuilder {
        IntrospectorBuilder {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret.into()),
            client_auth: ClientAuth::Basic,
            // RFC 7662 §2.2 makes `exp` optional in an answer.
            rules: ClaimRules::new().require_exp(false),
            cache_ttl: DEFAULT_CACHE_TTL,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            timeout: DEFAULT_TIMEOUT,
            allow_http: false,
        }
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// Checks `token`: from the cache when a fresh answer is there, else with the endpoint.
    /// [`TokenError::Inactive`] (and the claim errors) mean 401; [`TokenError::Unavailable`]
    /// means the endpoint could not answer (503).
    pub async fn introspect(&self, token: &str) -> Result<Principal, TokenError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(verdict) = self.inner.cached(&key) {
            return verdict;
        }
        let response = match self.inner.request(token).await {
            Ok(response) => response,
            Err(error) => {
                if self.inner.outage.failed() {
                    tracing::error!(
                        target: "secure_api::auth",
                        endpoint = self.inner.endpoint.as_str(),
                        error = crate::audit::LogSafe::display(&error).as_str(),
                        "token introspection failed; bearer tokens are refused (503) until it works again"
                    );
                } else {
                    tracing::debug!(
                        target: "secure_api::auth",
                        error = crate::audit::LogSafe::display(&error).as_str(),
                        "token introspection failed again"
                    );
                }
                return Err(TokenError::Unavailable);
            }
        };
        if self.inner.outage.recovered() {
            tracing::info!(target: "secure_api::auth", endpoint = self.inner.endpoint.as_str(), "token introspection works again");
        }
        let Some(now) = claims::unix_now() else {
            return Err(TokenError::Unavailable);
        };
        let (verdict, expires_in) = self.inner.judge(response, now);
        let ttl = expires_in.map_or(self.inner.cache_ttl, |left| left.min(self.inner.cache_ttl));
        if let Some(cache) = &self.inner.cache
            && !ttl.is_zero()
            // A TTL past what the clock can count (`Duration::MAX`) is not cached rather than
            // overflowing on the request path.
            && let Some(deadline) = Instant::now().checked_add(ttl)
        {
            cache.insert(key, (verdict.clone(), deadline));
        }
        verdict
    }
}

impl Inner {
    /// The cached verdict for a token digest, unless it is past its deadline (then dropped).
    fn cached(&self, key: &[u8; 32]) -> Option<Result<Principal, TokenError>> {
        let cache = self.cache.as_ref()?;
        let (verdict, deadline) = cache.get(key)?;
        if deadline > Instant::now() {
            return Some(verdict);
        }
        cache.remove(key);
        None
    }

    async fn request(&self, token: &str) -> Result<Map<String, Value>, fetch::FetchError> {
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        if self.client_auth == ClientAuth::Post {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .body(body);
        if self.client_auth == ClientAuth::Basic {
            // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
            request = request.basic_auth(form_encode(&self.client_id), Some(form_encode(self.client_secret.expose())));
        }
        let body = fetch::send(request).await?;
        serde_json::from_slice(&body).map_err(fetch::FetchError::Json)
    }

    /// The verdict on an endpoint's answer at `now`, and how long the token has left (from
    /// `exp`; `None` when it has none, or when it expired, so the refusal is cached for the
    /// configured TTL rather than not at all).
    fn judge(&self, response: Map<String, Value>, now: u64) -> (Result<Principal, TokenError>, Option<Duration>) {
        if response.get("active") != Some(&Value::Bool(true)) {
            return (Err(TokenError::Inactive), None);
        }
        if let Err(error) = claims::validate_at(&response, &self.rules, now) {
            let expires_in = match error {
                TokenError::Expired => None,
                _ => expires_in(&response, now),
            };
            return (Err(error), expires_in);
        }
        let expires_in = expires_in(&response, now);
        if response
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("refresh_token"))
        {
            return (Err(TokenError::WrongType), expires_in);
        }
        (principal_from_claims(response), expires_in)
    }
}

/// Time left before the answer's `exp`, when it has one.
fn expires_in(response: &Map<String, Value>, now: u64) -> Option<Duration> {
    let exp = response.get("exp").and_then(claims::numeric_date_value)?;
    Some(Duration::from_secs(exp.saturating_sub(now)))
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B), as the
/// form body is encoded: the client id and secret are encoded so before Basic encoding
/// (RFC 6749 §2.3.1).
fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn introspector() -> Introspector {
        Introspector::builder("https://idp.example/introspect", "rs", "secret")
            .issuer("https://idp.example")
            .audience("items-api")
            .build()
            .unwrap()
    }

    fn judge(response: Value) -> Result<Principal, TokenError> {
        let Value::Object(map) = response else { panic!("object") };
        introspector().inner.judge(map, 1_000_000).0
    }

    fn active(extra: Value) -> Value {
        let mut base = json!({"active": true, "sub": "alice", "iss": "https://idp.example", "aud": "items-api",
            "scope": "items:read", "exp": 1_000_600});
        for (name, value) in extra.as_object().unwrap() {
            base[name] = value.clone();
        }
        base
    }

    #[test]
    fn only_active_tokens_pass() {
        let principal = judge(active(json!({}))).unwrap();
        assert_eq!(principal.id(), "alice");
        assert_eq!(principal.scopes(), ["items:read"]);
        assert_eq!(judge(json!({"active": false})).unwrap_err(), TokenError::Inactive);
        assert_eq!(judge(json!({"sub": "alice"})).unwrap_err(), TokenError::Inactive);
        assert_eq!(judge(json!({"active": "true"})).unwrap_err(), TokenError::Inactive);
    }

    #[test]
    fn claims_are_checked_like_a_jwt() {
        assert_eq!(judge(active(json!({"exp": 1_000_000 - 61}))).unwrap_err(), TokenError::Expired);
        assert!(judge(active(json!({"exp": 1_000_000 - 30}))).is_ok());
        assert_eq!(judge(active(json!({"nbf": 1_000_100}))).unwrap_err(), TokenError::NotYetValid);
        assert_eq!(judge(active(json!({"iss": "https://evil.example"}))).unwrap_err(), TokenError::WrongIssuer);
        assert_eq!(judge(active(json!({"aud": ["other"]}))).unwrap_err(), TokenError::WrongAudience);
        assert!(judge(active(json!({"aud": ["other", "items-api"]}))).is_ok());
        assert_eq!(judge(active(json!({"token_type": "refresh_token"}))).unwrap_err(), TokenError::WrongType);
        assert_eq!(judge(active(json!({"sub": ""}))).unwrap_err(), TokenError::NoSubject);
    }

    #[test]
    fn an_issuer_array_and_a_tab_in_scope_are_refused() {
        let listed = active(json!({"iss": ["https://idp.example"]}));
        assert_eq!(judge(listed).unwrap_err(), TokenError::MissingClaim("iss".into()));
        // With no issuer configured, `iss` is still one string when present (RFC 7662 §2.2).
        let any_issuer = Introspector::builder("https://idp.example/introspect", "rs", "secret").build().unwrap();
        let Value::Object(map) = active(json!({"iss": ["https://idp.example"]})) else { unreachable!() };
        assert_eq!(any_issuer.inner.judge(map, 1_000_000).0.unwrap_err(), TokenError::MissingClaim("iss".into()));
        let tab = active(json!({"scope": "items:read\titems:write"}));
        assert_eq!(judge(tab).unwrap_err(), TokenError::MissingClaim("scope".into()));
        let spaced = judge(active(json!({"scope": "items:read  items:write"}))).unwrap();
        assert_eq!(spaced.scopes(), ["items:read", "items:write"]);
    }

    #[test]
    fn cache_lifetime_is_bounded_by_exp() {
        let Value::Object(map) = active(json!({"exp": 1_000_010})) else { unreachable!() };
        let (_, left) = introspector().inner.judge(map, 1_000_000);
        assert_eq!(left, Some(Duration::from_secs(10)));
    }

    #[test]
    fn cache_is_bounded_and_expires() {
        let introspector =
            Introspector::builder("https://idp.example/introspect", "rs", "secret").cache_capacity(3).build().unwrap();
        let inner = &introspector.inner;
        let cache = inner.cache.as_ref().unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0..10u8 {
            cache.insert([i; 32], (Err(TokenError::Inactive), later));
        }
        assert!(cache.len() <= 3, "{}", cache.len());
        assert!(inner.cached(&[9; 32]).is_some(), "the newest answer is kept");
        cache.insert([9; 32], (Err(TokenError::Inactive), Instant::now()));
        assert!(inner.cached(&[9; 32]).is_none(), "past its deadline");
        assert!(cache.get(&[9; 32]).is_none(), "and dropped");
    }

    #[test]
    fn a_zero_capacity_caches_nothing() {
        let introspector =
            Introspector::builder("https://idp.example/introspect", "rs", "secret").cache_capacity(0).build().unwrap();
        assert!(introspector.inner.cache.is_none());
        assert!(introspector.inner.cached(&[0; 32]).is_none());
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b+c:d/é"), "a+b%2Bc%3Ad%2F%C3%A9");
        assert_eq!(form_encode("AZaz09*-._~!'()"), "AZaz09*-._%7E%21%27%28%29");
    }

    /// The same claims get the same verdict as a JWT and as an introspection answer: each
    /// case here disagreed while the two paths had their own checks.
    #[test]
    fn answers_and_jwts_are_judged_alike() {
        use crate::auth::jwt::test_support::{SECRET, verifier};
        let now = claims::unix_now().unwrap();
        let introspector = Introspector::builder("https://idp.example/introspect", "rs", "secret")
            .issuer("iss")
            .audience("aud")
            .build()
            .unwrap();
        let base = json!({"sub": "alice", "iss": "iss", "aud": "aud", "exp": now + 600, "scope": "a"});
        let cases = [
            ("iss", json!(["iss"])),
            ("iss", json!(["evil"])),
            ("iss", Value::Null),
            ("aud", Value::Null),
            ("aud", json!(["aud", 7])),
            ("nbf", json!("later")),
            ("exp", json!((now + 600) as f64 + 0.25)),
            ("exp", json!(now - 120)),
            ("nbf", json!(now + 120)),
            ("iss", json!("evil")),
            ("aud", json!(["other"])),
        ];
        for (claim, value) in cases {
            let mut claims = base.clone();
            claims[claim] = value.clone();
            let token = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(SECRET),
            )
            .unwrap();
            let as_jwt = verifier().verify(&token).map(|principal| principal.id().to_owned());
            claims["active"] = json!(true);
            let Value::Object(answer) = claims else { unreachable!() };
            let as_answer = introspector.inner.judge(answer, now).0.map(|principal| principal.id().to_owned());
            assert_eq!(as_jwt, as_answer, "{claim}: {value}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", introspector()).contains("secret\""));
        assert!(!format!("{:?}", Introspector::builder("https://x", "id", "hunter2")).contains("hunter2"));
    }
}
