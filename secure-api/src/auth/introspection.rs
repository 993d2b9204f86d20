//! Opaque bearer tokens, checked with the authorization server's introspection endpoint
//! (RFC 7662).
//!
//! - The request is a client-authenticated `POST` (`client_secret_basic` by default, or
//!   `client_secret_post`) with `token` and `token_type_hint=access_token`.
//! - Only `"active": true` passes; `exp`, `nbf`, and the configured issuer and audience are
//!   checked on the response as they would be on a JWT, and refresh tokens are refused; `iss`
//!   must be one string and `scope` is split on SP only (RFC 6749 §3.3), as for a JWT.
//! - Answers are cached under the token's SHA-256 (never the token itself), for no longer than
//!   the configured TTL nor the token's `exp`; the cache holds a bounded number of entries and
//!   evicts the oldest first.
//! - When the endpoint is unreachable, times out or answers anything but 200 with JSON, the
//!   request is denied with **503** ([`TokenError::Unavailable`]): we cannot say the token is
//!   bad, only that we cannot accept it now. The failure is logged once per outage; neither the
//!   token nor the client secret ever reaches a log line.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::fetch;
use crate::auth::jwt::{TokenError, principal_from_claims};
use crate::config::ConfigError;
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
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    cache_ttl: Duration,
    cache: Mutex<Cache>,
    /// The last request failed; the next failure is not logged again.
    failing: AtomicBool,
}

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
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
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
        self.issuers.push(issuer.into());
        self
    }

    /// Requires the response's `aud` to name this audience (call again to accept several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Longest time an answer is reused (default 60 s); also how long a revoked token may
    /// still pass. `Duration::ZERO` disables the cache.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Most answers kept (default 10 000); the oldest go first.
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
                issuers: self.issuers,
                audiences: self.audiences,
                leeway: self.leeway,
                cache_ttl: self.cache_ttl,
                cache: Mutex::new(Cache::new(self.cache_capacity)),
                failing: AtomicBool::new(false),
            }),
        })
    }
}

impl Introspector {
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
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: Duration::from_secs(60),
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
                if !self.inner.failing.swap(true, Ordering::AcqRel) {
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
        if self.inner.failing.swap(false, Ordering::AcqRel) {
            tracing::info!(target: "secure_api::auth", endpoint = self.inner.endpoint.as_str(), "token introspection works again");
        }
        let (verdict, expires_in) = self.inner.judge(response, unix_now());
        if let Some(ttl) = expires_in.map_or(Some(self.inner.cache_ttl), |left| Some(left.min(self.inner.cache_ttl)))
            && !ttl.is_zero()
        {
            self.inner.cache_lock().insert(key, verdict.clone(), Instant::now() + ttl);
        }
        verdict
    }
}

impl Inner {
    fn cache_lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic elsewhere while holding the lock leaves a consistent map; keep serving.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Result<Principal, TokenError>> {
        self.cache_lock().get(key, Instant::now())
    }

    async fn request(&self, token: &str) -> Result<Map<String, Value>, fetch::FetchError> {
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        if self.client_auth == ClientAuth::Post {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        }
        let body =
            form.iter().map(|(name, value)| format!("{name}={}", form_encode(value))).collect::<Vec<_>>().join("&");
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

    /// The verdict on an endpoint's answer, and how long the token has left (from `exp`).
    fn judge(&self, response: Map<String, Value>, now: i64) -> (Result<Principal, TokenError>, Option<Duration>) {
        let leeway = self.leeway.as_secs() as i64;
        if response.get("active") != Some(&Value::Bool(true)) {
            return (Err(TokenError::Inactive), None);
        }
        let exp = match response.get("exp") {
            None => None,
            Some(exp) => match exp.as_i64() {
                Some(exp) => Some(exp),
                None => return (Err(TokenError::MissingClaim("exp".into())), None),
            },
        };
        if let Some(exp) = exp
            && now > exp + leeway
        {
            return (Err(TokenError::Expired), None);
        }
        let expires_in = exp.map(|exp| Duration::from_secs((exp - now).max(0) as u64));
        if response.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now + leeway) {
            return (Err(TokenError::NotYetValid), expires_in);
        }
        if response
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("refresh_token"))
        {
            return (Err(TokenError::WrongType), expires_in);
        }
        if !self.issuers.is_empty()
            && !response
                .get("iss")
                .and_then(Value::as_str)
                .is_some_and(|iss| self.issuers.iter().any(|known| known == iss))
        {
            return (Err(TokenError::WrongIssuer), expires_in);
        }
        if !self.audiences.is_empty() && !names_audience(response.get("aud"), &self.audiences) {
            return (Err(TokenError::WrongAudience), expires_in);
        }
        (principal_from_claims(response), expires_in)
    }
}

fn names_audience(aud: Option<&Value>, audiences: &[String]) -> bool {
    match aud {
        Some(Value::String(aud)) => audiences.iter().any(|known| known == aud),
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).any(|aud| audiences.iter().any(|known| known == aud))
        }
        _ => false,
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs() as i64)
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Introspection answers by token digest, bounded, oldest evicted first.
struct Cache {
    capacity: usize,
    entries: HashMap<[u8; 32], (Result<Principal, TokenError>, Instant)>,
    /// Insertion order, for eviction. May name keys already removed; compacted when long.
    order: VecDeque<[u8; 32]>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self { capacity, entries: HashMap::new(), order: VecDeque::new() }
    }

    fn get(&mut self, key: &[u8; 32], now: Instant) -> Option<Result<Principal, TokenError>> {
        match self.entries.get(key) {
            Some((verdict, expires)) if *expires > now => Some(verdict.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert(&mut self, key: [u8; 32], verdict: Result<Principal, TokenError>, expires: Instant) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.insert(key, (verdict, expires)).is_some() {
            return;
        }
        self.order.push_back(key);
        while self.entries.len() > self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order.retain(|key| entries.contains_key(key));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
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
        assert_eq!(judge(listed).unwrap_err(), TokenError::WrongIssuer);
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
        let mut cache = Cache::new(3);
        let now = Instant::now();
        for i in 0..10u8 {
            cache.insert([i; 32], Err(TokenError::Inactive), now + Duration::from_secs(60));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&[0; 32], now).is_none());
        assert!(cache.get(&[9; 32], now).is_some());
        assert!(cache.get(&[9; 32], now + Duration::from_secs(61)).is_none());
        assert!(cache.order.len() <= 6);
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b+c:d/é"), "a+b%2Bc%3Ad%2F%C3%A9");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        assert!(!format!("{:?}", introspector()).contains("secret\""));
        assert!(!format!("{:?}", Introspector::builder("https://x", "id", "hunter2")).contains("hunter2"));
    }
}
