//! [`TokenCache`] and its builder (documented on the item, where `secure_api::auth` shows it).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::auth::claims::{self, ClaimRules};
use crate::auth::error::TokenError;
use crate::auth::issuers::Issuers;
use crate::auth::jwt::{JwtVerifier, VerifierId};
use crate::config::ConfigError;
use crate::principal::Principal;
use quick_cache::sync::Cache;
use quick_cache::{OptionsBuilder, Weighter};

/// Tokens longer than this are verified every time and never stored.
const MAX_CACHED_TOKEN_LEN: usize = 8 * 1024;
/// Fixed per-entry overhead in the memory estimate: the entry, the principal's id and scope
/// strings, the cache's own bookkeeping.
const ENTRY_OVERHEAD: u64 = 256;

type RevocationCheck = dyn Fn(&Principal) -> bool + Send + Sync;

/// A bounded cache of verified bearer tokens, so a client that reuses its access token pays for
/// signature verification once rather than on every request (ES256 costs ≈ 80 µs and RS256
/// ≈ 35 µs per verification; a hit costs well under a microsecond).
///
/// The rules, each of which keeps a hit's decision identical to a fresh verification's:
/// - the key is the **full token**, byte for byte: the hash only picks a bucket, equality is
///   decided on every byte, so two tokens differing in one byte never share an entry. The
///   request path asks the cache with the header's raw bytes before checking their form: only
///   tokens that passed every check were stored, so a hit needs none of them again;
/// - only successes are stored (a rejected token is verified again, and rejected again, every
///   time), together with the verified [`Principal`] and the token's `exp` / `nbf`;
/// - an entry is served only to the [`JwtVerifier`] that verified it (the same built verifier
///   or a clone of it): with several [`Issuers`](crate::auth::Issuers), the verifier is the
///   one the cached claims' `iss` selects, so a token verified for one issuer is never
///   accepted under another issuer's configuration, and a cache shared by two applications
///   never serves one application's verdict to the other;
/// - on every hit the claims are checked again against the clock with the verifier's
///   [`ClaimRules`] through the one [`claims::validate_claims`] a fresh
///   verification uses, so a token that expires while cached is refused with
///   [`TokenError::Expired`] as a fresh verification would refuse it;
/// - an entry lives at most the configured TTL (default 60 s), after which the token is verified
///   afresh: this bounds how long a change of keys or issuers takes to reach cached tokens
///   (call [`TokenCache::clear`] when keys rotate to make it immediate);
/// - an optional revocation check ([`TokenCacheBuilder::revocation_check`]) runs on every hit
///   and after every fresh verification made through the cache;
/// - memory is bounded by a byte budget (default 16 MiB, estimated per entry), with S3-FIFO
///   eviction, and tokens longer than 8 KiB are never stored.
///
/// Only tokens that verified successfully can enter, so a client cannot fill the cache with
/// garbage; it can only fill it with tokens the issuer signed.
///
/// A bounded, concurrent cache of verified access tokens.
///
/// Cloning is cheap and clones share the entries, so the application can keep a handle for
/// [`evict`](Self::evict) / [`clear`](Self::clear) after giving one to
/// [`SecurityBuilder::token_cache`](crate::SecurityBuilder::token_cache).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use secure_api::Security;
/// use secure_api::auth::{JwtVerifier, TokenCache, VerificationKey};
///
/// let cache = TokenCache::builder()
///     .ttl(Duration::from_secs(300))
///     .max_bytes(32 * 1024 * 1024)
///     .build()
///     .unwrap();
/// let security = Security::builder()
///     .jwt(JwtVerifier::builder()
///         .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
///         .build()
///         .unwrap())
///     .token_cache(cache.clone())
///     .build();
/// assert!(cache.is_empty());
/// ```
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Cache<Box<[u8]>, Arc<CachedToken>, EntryWeight>,
    ttl: Duration,
    revoked: Option<Box<RevocationCheck>>,
}

/// What a successful verification established about one token.
struct CachedToken {
    /// The verified principal; its claims are checked again on every hit.
    principal: Principal,
    /// Wall-clock time of the verification: the one clock read per request serves both the
    /// claim checks and the TTL. A clock set back makes entries stale (verified afresh),
    /// never older-looking.
    stored_at: SystemTime,
    /// The verifier that verified the token; no other is served this entry.
    verifier: VerifierId,
    /// The rules the claims passed when stored (those of `verifier`), and the claims' `exp` and
    /// `nbf` as NumericDates read then: a hit judged by these same rules only checks the times
    /// again (see [`claims::check_times`]).
    rules: Option<Arc<ClaimRules>>,
    exp: Option<u64>,
    nbf: Option<u64>,
}

/// What a cache hit is judged by: the verifier selected for the token (an entry another
/// verifier stored is a miss) and its claim rules.
#[derive(Clone, Copy)]
struct Judge<'a> {
    verifier: VerifierId,
    rules: &'a ClaimRules,
    /// `rules` as the verifier's shared allocation, which an entry keeps.
    shared: Option<&'a Arc<ClaimRules>>,
}

impl<'a> Judge<'a> {
    fn of(verifier: &'a JwtVerifier) -> Self {
        Self { verifier: verifier.id(), rules: verifier.rules(), shared: Some(verifier.shared_rules()) }
    }
}

/// Estimated bytes held by an entry: the token (key), the claims parsed from it (about as large
/// as the token's payload), and a fixed overhead.
#[derive(Clone, Copy)]
struct EntryWeight;

impl Weighter<Box<[u8]>, Arc<CachedToken>> for EntryWeight {
    fn weight(&self, key: &Box<[u8]>, _value: &Arc<CachedToken>) -> u64 {
        2 * key.len() as u64 + ENTRY_OVERHEAD
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens: they are bearer credentials.
        f.debug_struct("TokenCache")
            .field("entries", &self.inner.entries.len())
            .field("ttl", &self.inner.ttl)
            .field("max_bytes", &self.inner.entries.capacity())
            .field("revocation_check", &self.inner.revoked.is_some())
            .finish()
    }
}

impl Default for TokenCache {
    /// A cache with the default TTL (60 s) and memory budget (16 MiB).
    fn default() -> Self {
        Self::with_limits(DEFAULT_TTL, DEFAULT_MAX_BYTES, None)
    }
}

const DEFAULT_TTL: Duration = Duration::from_secs(60);
const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

impl TokenCache {
    /// Starts a cache configuration.
    pub fn builder() -> TokenCacheBuilder {
        TokenCacheBuilder::default()
    }

    fn with_limits(ttl: Duration, max_bytes: u64, revoked: Option<Box<RevocationCheck>>) -> Self {
        let max_bytes = max_bytes.max(ENTRY_OVERHEAD);
        // An estimate for the table's initial size; the byte budget is the bound.
        let estimated_items = usize::try_from(max_bytes / 1024).unwrap_or(usize::MAX).max(16);
        let options =
            OptionsBuilder::new().estimated_items_capacity(estimated_items).weight_capacity(max_bytes).build();
        let entries = match options {
            Ok(options) => Cache::with_options(options, EntryWeight, Default::default(), Default::default()),
            // Both options are always set above; keep a working cache rather than fail if that changes.
            Err(_) => Cache::with_weighter(estimated_items, max_bytes, EntryWeight),
        };
        Self { inner: Arc::new(Inner { entries, ttl, revoked }) }
    }

    /// Verifies `token` with `verifier`, or answers from the cache when the same token verified
    /// before: the decision is the one a fresh verification would make (see the module docs).
    ///
    /// # Examples
    /// ```
    /// use secure_api::auth::{JwtVerifier, TokenCache, VerificationKey};
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///     .build()
    ///     .unwrap();
    /// let cache = TokenCache::default();
    /// assert!(cache.verify(&verifier, "not.a.token").is_err());
    /// assert!(cache.is_empty(), "failures are never cached");
    /// ```
    pub fn verify(&self, verifier: &JwtVerifier, token: &str) -> Result<Principal, TokenError> {
        self.verify_with(token, Judge::of(verifier), SystemTime::now(), || verifier.verify(token))
    }

    /// Like [`verify`](Self::verify) with the verifier of the issuer `token` names: a hit is
    /// judged by the verifier its cached claims' `iss` selects, and served only if that
    /// verifier stored it; a miss is verified by the selected issuer's verifier alone.
    pub(crate) fn verify_issuers(&self, issuers: &Issuers, token: &str) -> Result<Principal, TokenError> {
        let now = SystemTime::now();
        if let Some(decided) = self.cached_at(token.as_bytes(), |claims| issuers.for_claims(claims).map(Judge::of), now)
        {
            return decided;
        }
        let verifier = issuers.select(token)?;
        self.verify_fresh(token, Judge::of(verifier), now, || verifier.verify(token))
    }

    /// The cached decision for a token given as the raw bytes of the request, before they are
    /// checked to be a well-formed token: `None` unless the cache holds a fresh entry for
    /// exactly these bytes, stored by the verifier of the issuer its claims name. A cached token
    /// passed every check of the request path when it was stored (its form, its signature, its
    /// claims), so the same bytes need neither again; anything else is `None` and goes the
    /// whole way.
    pub(crate) fn cached(&self, issuers: &Issuers, token: &[u8]) -> Option<Result<Principal, TokenError>> {
        self.cached_at(token, |claims| issuers.for_claims(claims).map(Judge::of), SystemTime::now())
    }

    /// The cache logic with the clock and the verification passed in (unit-testable).
    fn verify_with(
        &self,
        token: &str,
        judge: Judge<'_>,
        now: SystemTime,
        fresh: impl FnOnce() -> Result<Principal, TokenError>,
    ) -> Result<Principal, TokenError> {
        if let Some(decided) = self.cached_at(token.as_bytes(), |_| Some(judge), now) {
            return decided;
        }
        self.verify_fresh(token, judge, now, fresh)
    }

    /// A miss: `fresh` verifies the token, and a success is stored for `judge`'s verifier.
    fn verify_fresh(
        &self,
        token: &str,
        judge: Judge<'_>,
        now: SystemTime,
        fresh: impl FnOnce() -> Result<Principal, TokenError>,
    ) -> Result<Principal, TokenError> {
        let Some(now_secs) = now.duration_since(UNIX_EPOCH).ok().map(|since| since.as_secs()) else {
            // A clock before 1970 cannot check `exp`: leave every decision to the verifier.
            return fresh();
        };
        let principal = fresh()?;
        self.check_revocation(&principal)?;
        // Stored only when a hit can re-check it: it has an `exp` (so every entry ends) and
        // passes the rules now (so an `nbf` or `exp` the rules cannot read is never stored).
        let claims = principal.claims();
        if token.len() <= MAX_CACHED_TOKEN_LEN
            && claims.get("exp").and_then(claims::numeric_date_value).is_some()
            && claims::validate_at(claims, judge.rules, now_secs).is_ok()
        {
            let entry = CachedToken {
                principal: principal.clone(),
                stored_at: now,
                verifier: judge.verifier,
                rules: judge.shared.cloned(),
                exp: claims::numeric_date(claims, "exp").and_then(Result::ok),
                nbf: claims::numeric_date(claims, "nbf").and_then(Result::ok),
            };
            self.inner.entries.insert(token.as_bytes().into(), Arc::new(entry));
        }
        Ok(principal)
    }

    /// The decision of a fresh entry for `token`, judged by what `select` picks for its cached
    /// claims; `None` on a miss, an entry another verifier stored (replaced once the token is
    /// verified afresh), a stale entry (past its TTL: dropped, to be verified afresh and
    /// replaced) or a clock before 1970.
    fn cached_at<'v>(
        &self,
        token: &[u8],
        select: impl FnOnce(&serde_json::Map<String, serde_json::Value>) -> Option<Judge<'v>>,
        now: SystemTime,
    ) -> Option<Result<Principal, TokenError>> {
        let inner = &*self.inner;
        let now_secs = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let cached = inner.entries.get(token)?;
        let judge = select(cached.principal.claims()).filter(|judge| judge.verifier == cached.verifier)?;
        if !now.duration_since(cached.stored_at).is_ok_and(|age| age < inner.ttl) {
            inner.entries.remove(token);
            return None;
        }
        // Judged by the very rules the claims passed when stored (the same allocation, which the
        // entry keeps alive, and rules never change once built), only the times can have moved
        // on: `check_times` gives `validate_at`'s answer without its claim look-ups by name
        // (about 900 instructions a hit; debug builds check that the answers agree). Any other
        // rules (another verifier's, or rules passed in by hand) judge the claims in full.
        let same_rules = cached.rules.as_ref().is_some_and(|stored| std::ptr::eq(Arc::as_ptr(stored), judge.rules));
        let decided = if same_rules {
            claims::check_times(cached.exp, cached.nbf, judge.rules, now_secs)
        } else {
            claims::validate_at(cached.principal.claims(), judge.rules, now_secs)
        };
        debug_assert_eq!(decided, claims::validate_at(cached.principal.claims(), judge.rules, now_secs));
        if let Err(error) = decided {
            inner.entries.remove(token);
            return Some(Err(error));
        }
        Some(self.check_revocation(&cached.principal).map(|()| cached.principal.clone()))
    }

    fn check_revocation(&self, principal: &Principal) -> Result<(), TokenError> {
        match &self.inner.revoked {
            Some(revoked) if revoked(principal) => Err(TokenError::Revoked),
            _ => Ok(()),
        }
    }

    /// Forgets `token`: its next use is verified afresh. Returns whether it was cached.
    ///
    /// To *refuse* a token from now on, use a [revocation check](TokenCacheBuilder::revocation_check):
    /// evicting alone lets a token with a valid signature verify again.
    pub fn evict(&self, token: &str) -> bool {
        self.inner.entries.remove(token.as_bytes()).is_some()
    }

    /// Forgets every token, e.g. after a signing key was rotated out.
    pub fn clear(&self) {
        self.inner.entries.clear();
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// True when no token is cached.
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// The estimated bytes the cached entries hold (never above the configured budget).
    pub fn weight(&self) -> u64 {
        self.inner.entries.weight()
    }
}

/// Builds a [`TokenCache`]; see [`TokenCache::builder`].
#[must_use]
#[derive(Default)]
pub struct TokenCacheBuilder {
    ttl: Option<Duration>,
    max_bytes: Option<u64>,
    revoked: Option<Box<RevocationCheck>>,
}

impl std::fmt::Debug for TokenCacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCacheBuilder")
            .field("ttl", &self.ttl)
            .field("max_bytes", &self.max_bytes)
            .field("revocation_check", &self.revoked.is_some())
            .finish()
    }
}

impl TokenCacheBuilder {
    /// The longest an entry is served before the token is verified again (default 60 s). The
    /// token's own `exp` ends an entry earlier.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The memory budget in bytes (default 16 MiB), estimated per entry as twice the token's
    /// length plus 256 bytes; the least useful entries are evicted beyond it.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// Refuses tokens for which `revoked` returns true, with [`TokenError::Revoked`]. It runs on
    /// every cache hit and after every fresh verification made through the cache, so it must
    /// be fast (an in-memory set, not a network call).
    ///
    /// # Examples
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::{Arc, RwLock};
    /// use secure_api::auth::TokenCache;
    ///
    /// let revoked_ids: Arc<RwLock<HashSet<String>>> = Arc::default();
    /// let denylist = revoked_ids.clone();
    /// let cache = TokenCache::builder()
    ///     .revocation_check(move |principal| {
    ///         let jti = principal.claims().get("jti").and_then(|jti| jti.as_str());
    ///         jti.is_some_and(|jti| denylist.read().map_or(true, |set| set.contains(jti)))
    ///     })
    ///     .build()
    ///     .unwrap();
    /// revoked_ids.write().unwrap().insert("token-42".to_owned());
    /// ```
    pub fn revocation_check(mut self, revoked: impl Fn(&Principal) -> bool + Send + Sync + 'static) -> Self {
        self.revoked = Some(Box::new(revoked));
        self
    }

    /// Checks the configuration and builds the cache.
    pub fn build(self) -> Result<TokenCache, ConfigError> {
        let ttl = self.ttl.unwrap_or(DEFAULT_TTL);
        if ttl.is_zero() {
            return Err(ConfigError::new("a token cache TTL of zero caches nothing; leave the cache out instead"));
        }
        let max_bytes = self.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes < 64 * 1024 {
            return Err(ConfigError::new("a token cache needs a memory budget of at least 64 KiB"));
        }
        Ok(TokenCache::with_limits(ttl, max_bytes, self.revoked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthScheme;
    use crate::auth::jwt::test_support::{SECRET, verifier};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    /// A hit judged by `rules`, for the one verifier these tests store entries for.
    fn judge(rules: &ClaimRules) -> Judge<'_> {
        Judge { verifier: verifier().id(), rules, shared: None }
    }

    /// The rules of the shared test verifier.
    fn rules() -> ClaimRules {
        verifier().rules().clone()
    }

    /// The wall-clock time `secs` after the epoch.
    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn sign(claims: Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    fn token_for(sub: &str, exp: u64) -> String {
        sign(json!({"sub": sub, "iss": "iss", "aud": "aud", "exp": exp, "scope": "items:read", "jti": sub}))
    }

    /// A principal as the verifier would return it for `exp`.
    fn principal(exp: Value) -> Principal {
        let claims = json!({"sub": "alice", "iss": "iss", "aud": "aud", "exp": exp});
        let Value::Object(claims) = claims else { unreachable!() };
        Principal::new("alice", ["items:read"], AuthScheme::Bearer).with_claims(claims)
    }

    #[test]
    fn a_hit_returns_the_same_principal_without_verifying_again() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        let fresh = verifier().verify(&token).unwrap();
        let first = cache.verify(&verifier(), &token).unwrap();
        let calls = AtomicUsize::new(0);
        let second = cache
            .verify_with(&token, judge(&rules()), SystemTime::now(), || {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(TokenError::BadSignature)
            })
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0, "a hit must not verify");
        for cached in [&first, &second] {
            assert_eq!(cached.id(), fresh.id());
            assert_eq!(cached.scopes(), fresh.scopes());
            assert_eq!(cached.method(), fresh.method());
            assert_eq!(cached.claims(), fresh.claims());
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn failures_are_not_cached() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        let mut bytes = token.into_bytes();
        let inside_signature = bytes.len() - 5;
        bytes[inside_signature] = if bytes[inside_signature] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(cache.verify(&verifier(), &tampered).unwrap_err(), TokenError::BadSignature);
        assert_eq!(cache.verify(&verifier(), &tampered).unwrap_err(), TokenError::BadSignature);
        assert!(cache.is_empty());
    }

    #[test]
    fn an_expired_entry_is_not_served() {
        let cache = TokenCache::builder().ttl(Duration::from_secs(3600)).build().unwrap();
        let exp = now() + 10;
        let token = token_for("alice", exp);
        cache.verify(&verifier(), &token).unwrap();
        // Within the leeway after `exp`: still accepted, like a fresh verification.
        let ok = cache.verify_with(&token, judge(&rules()), at(exp + 60), || panic!("must be a hit"));
        assert!(ok.is_ok());
        // One second past `exp + leeway`: refused as expired, and the entry is gone.
        let expired = cache.verify_with(&token, judge(&rules()), at(exp + 61), || panic!("must be a hit"));
        assert_eq!(expired.unwrap_err(), TokenError::Expired);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_clock_set_back_makes_entries_stale() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        cache.verify(&verifier(), &token).unwrap();
        let calls = AtomicUsize::new(0);
        let earlier = SystemTime::now() - Duration::from_secs(5);
        let result = cache.verify_with(&token, judge(&rules()), earlier, || {
            calls.fetch_add(1, Ordering::SeqCst);
            verifier().verify(&token)
        });
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "verified afresh, not served");
    }

    #[test]
    fn a_hit_is_judged_by_the_rules_it_is_asked_with() {
        let cache = TokenCache::builder().ttl(Duration::from_secs(3600)).build().unwrap();
        let exp = now() + 10;
        let token = token_for("alice", exp);
        cache.verify(&verifier(), &token).unwrap();
        // 30 s past `exp`: inside the default leeway, outside a 10 s one.
        let tight = rules().leeway(Duration::from_secs(10));
        let refused = cache.verify_with(&token, judge(&tight), at(exp + 30), || panic!("must be a hit"));
        assert_eq!(refused.unwrap_err(), TokenError::Expired);
        // The same rules judge the issuer: a verifier that now trusts another issuer refuses it.
        cache.verify(&verifier(), &token).unwrap();
        let other_issuer = ClaimRules::new().issuer("other").audience("aud");
        let refused = cache.verify_with(&token, judge(&other_issuer), SystemTime::now(), || panic!("must be a hit"));
        assert_eq!(refused.unwrap_err(), TokenError::WrongIssuer);
    }

    #[test]
    fn a_hit_by_the_verifier_that_stored_it_checks_the_times_again() {
        let cache = TokenCache::builder().ttl(Duration::from_secs(3600)).build().unwrap();
        let exp = now() + 10;
        let token = token_for("alice", exp);
        cache.verify(&verifier(), &token).unwrap();
        let stored_by = verifier();
        let judge = Judge::of(&stored_by);
        assert!(judge.shared.is_some(), "judged by the stored rules: only the times are checked");
        let leeway = 60;
        let served = cache.verify_with(&token, judge, at(exp + leeway), || panic!("must be a hit"));
        assert_eq!(served.unwrap().id(), "alice", "inside the leeway");
        let refused = cache.verify_with(&token, judge, at(exp + leeway + 1), || panic!("must be a hit"));
        assert_eq!(refused.unwrap_err(), TokenError::Expired);
        let calls = AtomicUsize::new(0);
        let again = cache.verify_with(&token, judge, SystemTime::now(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            verifier().verify(&token)
        });
        assert!(again.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the refused entry was dropped: verified afresh");
    }

    #[test]
    fn an_entry_is_verified_again_after_its_ttl() {
        let cache = TokenCache::builder().ttl(Duration::from_millis(1)).build().unwrap();
        let token = token_for("alice", now() + 600);
        cache.verify(&verifier(), &token).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let calls = AtomicUsize::new(0);
        let result = cache.verify_with(&token, judge(&rules()), SystemTime::now(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TokenError::UnknownKey)
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1, "past its TTL the token is verified again");
        assert_eq!(result.unwrap_err(), TokenError::UnknownKey);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_revoked_token_is_rejected_cached_or_not() {
        let revoked = Arc::new(std::sync::RwLock::new(Vec::<String>::new()));
        let denylist = revoked.clone();
        let cache = TokenCache::builder()
            .revocation_check(move |principal| {
                let jti = principal.claims().get("jti").and_then(Value::as_str).unwrap_or_default();
                denylist.read().unwrap().iter().any(|revoked| revoked == jti)
            })
            .build()
            .unwrap();
        let alice = token_for("alice", now() + 600);
        let bob = token_for("bob", now() + 600);
        cache.verify(&verifier(), &alice).unwrap();
        revoked.write().unwrap().extend(["alice".to_owned(), "bob".to_owned()]);
        assert_eq!(cache.verify(&verifier(), &alice).unwrap_err(), TokenError::Revoked, "cached");
        assert_eq!(cache.verify(&verifier(), &bob).unwrap_err(), TokenError::Revoked, "fresh");
        assert!(!cache.evict(&bob), "a revoked token is never stored");
    }

    #[test]
    fn the_raw_bytes_lookup_answers_only_for_a_stored_token() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        assert!(cache.cached(&Issuers::from(verifier()), token.as_bytes()).is_none(), "nothing stored yet");
        cache.verify(&verifier(), &token).unwrap();
        let hit = cache.cached(&Issuers::from(verifier()), token.as_bytes()).unwrap().unwrap();
        assert_eq!(hit.id(), "alice");
        // Bytes that are not a token at all, or the token with one more byte, never hit.
        for other in [&b"not a token\n"[..], &[token.as_bytes(), b" "].concat(), &token.as_bytes()[1..]] {
            assert!(cache.cached(&Issuers::from(verifier()), other).is_none());
        }
        // Stored two hours ago, expired an hour ago: the lookup refuses it as verification would.
        let cache = TokenCache::builder().ttl(Duration::from_secs(3 * 3600)).build().unwrap();
        let expired = token_for("bob", now() - 3600);
        cache.verify_with(&expired, judge(&rules()), at(now() - 7200), || Ok(principal(json!(now() - 3600)))).unwrap();
        assert_eq!(
            cache.cached(&Issuers::from(verifier()), expired.as_bytes()).unwrap().unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn an_entry_is_served_only_to_the_verifier_that_stored_it() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        cache.verify(&verifier(), &token).unwrap();
        // Another verifier with the same rules but its own keys: a miss, verified afresh.
        let other = JwtVerifier::builder()
            .key(crate::auth::VerificationKey::hs256(b"ffffffffffffffffffffffffffffffff").unwrap())
            .issuer("iss")
            .audience("aud")
            .build()
            .unwrap();
        assert!(cache.cached(&Issuers::from(other.clone()), token.as_bytes()).is_none());
        assert_eq!(cache.verify(&other, &token).unwrap_err(), TokenError::BadSignature);
        // The entry of the verifier that stored it is still served to it.
        assert!(cache.cached(&Issuers::from(verifier()), token.as_bytes()).is_some());
    }

    #[test]
    fn with_several_issuers_a_hit_is_judged_by_the_issuer_its_claims_name() {
        let other = JwtVerifier::builder()
            .key(crate::auth::VerificationKey::hs256(b"ffffffffffffffffffffffffffffffff").unwrap())
            .issuer("other")
            .audience("aud")
            .build()
            .unwrap();
        let issuers = Issuers::builder().trust(verifier()).trust(other.clone()).build().unwrap();
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        assert_eq!(cache.verify_issuers(&issuers, &token).unwrap().id(), "alice");
        assert!(cache.cached(&issuers, token.as_bytes()).unwrap().is_ok(), "stored for issuer `iss`");
        // A set where `iss` is judged by another verifier (other keys) never sees the entry.
        let renamed = JwtVerifier::builder()
            .key(crate::auth::VerificationKey::hs256(b"ffffffffffffffffffffffffffffffff").unwrap())
            .issuer("iss")
            .audience("aud")
            .build()
            .unwrap();
        let confused = Issuers::builder().trust(renamed).trust(other).build().unwrap();
        assert!(cache.cached(&confused, token.as_bytes()).is_none());
        assert_eq!(cache.verify_issuers(&confused, &token).unwrap_err(), TokenError::BadSignature);
    }

    #[test]
    fn a_token_differing_in_one_byte_misses() {
        let cache = TokenCache::default();
        let token = token_for("alice", now() + 600);
        cache.verify(&verifier(), &token).unwrap();
        // Flip one byte of the signature: not the same key, so verified (and refused) afresh.
        let mut bytes = token.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let other = String::from_utf8(bytes).unwrap();
        let calls = AtomicUsize::new(0);
        let result = cache.verify_with(&other, judge(&rules()), SystemTime::now(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            verifier().verify(&other)
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(result.unwrap_err(), TokenError::BadSignature);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let cache = TokenCache::builder().max_bytes(64 * 1024).build().unwrap();
        let exp = now() + 600;
        for i in 0..2_000 {
            let token = format!("token-{i:0>300}");
            cache.verify_with(&token, judge(&rules()), SystemTime::now(), || Ok(principal(json!(exp)))).unwrap();
        }
        assert!(cache.weight() <= 64 * 1024, "weight {}", cache.weight());
        let per_entry = 2 * 306 + ENTRY_OVERHEAD;
        assert!(cache.len() as u64 <= 64 * 1024 / per_entry, "len {}", cache.len());
        assert!(cache.len() > 10, "a bounded cache still holds entries: {}", cache.len());
    }

    #[test]
    fn uncheckable_or_huge_tokens_are_not_stored() {
        let cache = TokenCache::default();
        cache.verify_with("no-exp", judge(&rules()), SystemTime::now(), || Ok(principal(json!("soon")))).unwrap();
        let huge = "h".repeat(MAX_CACHED_TOKEN_LEN + 1);
        cache.verify_with(&huge, judge(&rules()), SystemTime::now(), || Ok(principal(json!(now() + 600)))).unwrap();
        assert!(cache.is_empty());
    }

    #[test]
    fn evict_and_clear_forget_tokens() {
        let cache = TokenCache::default();
        let alice = token_for("alice", now() + 600);
        let bob = token_for("bob", now() + 600);
        cache.verify(&verifier(), &alice).unwrap();
        cache.verify(&verifier(), &bob).unwrap();
        assert!(cache.evict(&alice));
        assert_eq!(cache.len(), 1);
        cache.clear();
        assert!(cache.is_empty());
        assert!(!format!("{cache:?}").contains(&bob), "Debug never shows tokens");
    }

    #[test]
    fn zero_ttl_and_tiny_budgets_are_refused() {
        assert!(TokenCache::builder().ttl(Duration::ZERO).build().is_err());
        assert!(TokenCache::builder().max_bytes(1024).build().is_err());
    }
}
