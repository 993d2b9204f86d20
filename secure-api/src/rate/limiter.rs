//! Per-route limiters, the registry that holds them, and how the guard uses them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::ConnectInfo;
use http::request::Parts;

use crate::client::ClientIdentity;
use crate::context::RequestContext;
use crate::policy::RoutePolicy;
use crate::principal::Principal;
use crate::problem::Problem;
use crate::rate::headers::PolicyHeader;
use crate::rate::key::{KeyInputs, RateKey, RateKeyKind};
use crate::rate::memory::{DEFAULT_MAX_KEYS, MemoryLimiter};
#[cfg(feature = "redis")]
use crate::rate::redis::RedisStore;
use crate::rate::spec::RateSpec;
use crate::state::Security;

/// The outcome of one check: allowed or not, and what the RateLimit fields report.
///
/// # Examples
/// ```
/// use secure_api::rate::{MemoryLimiter, RateKey, RateSpec};
///
/// let limiter = MemoryLimiter::new(RateSpec::new(10, 60), 100);
/// let decision = limiter.check(&RateKey::principal("alice"));
/// assert!(decision.allowed());
/// assert_eq!(decision.remaining(), 9);
/// assert_eq!(decision.reset_secs(), 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDecision {
    allowed: bool,
    remaining: u32,
    reset: Duration,
    retry_after: Duration,
}

impl RateDecision {
    pub(crate) fn allow(remaining: u32, reset: Duration) -> Self {
        Self { allowed: true, remaining, reset, retry_after: Duration::ZERO }
    }

    pub(crate) fn deny(retry_after: Duration, reset: Duration) -> Self {
        Self { allowed: false, remaining: 0, reset, retry_after }
    }

    /// The request may proceed.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// Requests the caller may still send right now (the `r` of `RateLimit`).
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// How long until the caller's whole quota is available again.
    pub fn reset(&self) -> Duration {
        self.reset
    }

    /// [`reset`](Self::reset) in whole seconds, rounded up (the `t` of `RateLimit`).
    pub fn reset_secs(&self) -> u64 {
        ceil_secs(self.reset)
    }

    /// For a denial: how long until one request would be allowed.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// [`retry_after`](Self::retry_after) in whole seconds, rounded up and at least 1 for a
    /// denial: the `Retry-After` value, never earlier than a retry can succeed.
    pub fn retry_after_secs(&self) -> u64 {
        if self.allowed { 0 } else { ceil_secs(self.retry_after).max(1) }
    }
}

fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// One route's limiter: its spec and key kind, the in-memory limiter, and the shared store
/// when one is configured (the in-memory limiter then serves as the fallback).
pub struct RouteLimiter {
    spec: RateSpec,
    key_kind: RateKeyKind,
    memory: MemoryLimiter,
    #[cfg(feature = "redis")]
    redis: Option<(RedisStore, String)>,
    header: Arc<PolicyHeader>,
}

impl std::fmt::Debug for RouteLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("RouteLimiter");
        out.field("spec", &self.spec).field("key", &self.key_kind).field("memory", &self.memory);
        #[cfg(feature = "redis")]
        out.field("redis", &self.redis.as_ref().map(|(_, prefix)| prefix));
        out.finish()
    }
}

impl RouteLimiter {
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    fn new(route: &str, spec: RateSpec, key_kind: RateKeyKind, limits: &RateLimits) -> Self {
        Self {
            spec,
            key_kind,
            memory: MemoryLimiter::new(spec, limits.max_keys),
            #[cfg(feature = "redis")]
            redis: limits.redis.as_ref().map(|store| (store.clone(), store.route_prefix(route))),
            header: Arc::new(PolicyHeader::new(&spec)),
        }
    }

    /// The route's rate.
    pub fn spec(&self) -> RateSpec {
        self.spec
    }

    /// What the route counts requests against.
    pub fn key_kind(&self) -> RateKeyKind {
        self.key_kind
    }

    /// The in-memory limiter (the only one, or the fallback of the shared store).
    pub fn memory(&self) -> &MemoryLimiter {
        &self.memory
    }

    /// Counts one request against `key`: in the shared store when there is one and it answers,
    /// in memory otherwise.
    pub async fn check(&self, key: &RateKey) -> RateDecision {
        self.decide(None, key).await
    }

    /// Like [`check`](Self::check), but denies first, without counting, when `gate` has used up
    /// its quota (see [`MemoryLimiter::check_gated`]).
    pub async fn check_gated(&self, gate: &RateKey, key: &RateKey) -> RateDecision {
        self.decide(Some(gate), key).await
    }

    #[cfg_attr(not(feature = "redis"), allow(clippy::unused_async))]
    async fn decide(&self, gate: Option<&RateKey>, key: &RateKey) -> RateDecision {
        #[cfg(feature = "redis")]
        if let Some((store, prefix)) = &self.redis {
            let key_name = format!("{prefix}{key}");
            let gate_name = gate.map(|gate| format!("{prefix}{gate}"));
            let period = self.spec.period_micros();
            let tau = period * u64::from(self.spec.count() - 1);
            // Boxed: the Redis round trip's state would otherwise size every rate-limited
            // request's future, in-memory ones included (it is moved several times per request).
            if let Some(decision) = Box::pin(store.check(&key_name, gate_name.as_deref(), period, tau)).await {
                return decision;
            }
        }
        match gate {
            Some(gate) => self.memory.check_gated(gate, key),
            None => self.memory.check(key),
        }
    }

    /// Step 4 of the pipeline on a `#[public]` route: count the request against its key (the
    /// client IP unless `key` names a header).
    pub(crate) async fn enforce_public(&self, parts: &Parts, security: &Security) -> Result<(), Problem> {
        let client = client_key(parts, security);
        let key = self.key_kind.resolve(&self.inputs(parts, security, client, None));
        let decision = self.check(&key).await;
        self.conclude(parts, decision)
    }

    /// After authentication failed: the attempt counts against the client IP, and a client
    /// that used up the route's quota gets 429 instead of the authentication error.
    pub(crate) async fn charge_failed_auth(&self, parts: &Parts, security: &Security, problem: Problem) -> Problem {
        let decision = self.check(&client_key(parts, security)).await;
        if !decision.allowed() {
            return self.refuse(parts, &decision);
        }
        record(parts, &self.header, None);
        problem
    }

    /// After authentication succeeded: count the request against the route's key. The client
    /// IP is a gate: if its failed attempts used up the quota, the request is refused whatever
    /// credentials it carries, so a client cannot tell a guessed credential from a wrong one by
    /// the answer.
    pub(crate) async fn enforce(
        &self,
        parts: &Parts,
        security: &Security,
        principal: &Principal,
    ) -> Result<(), Problem> {
        let client = client_key(parts, security);
        let key = self.key_kind.resolve(&self.inputs(parts, security, client.clone(), Some(principal)));
        let decision = if key == client { self.check(&key).await } else { self.check_gated(&client, &key).await };
        self.conclude(parts, decision)
    }

    fn inputs<'a>(
        &self,
        parts: &'a Parts,
        security: &'a Security,
        client: RateKey,
        principal: Option<&'a Principal>,
    ) -> KeyInputs<'a> {
        KeyInputs {
            client,
            principal,
            headers: &parts.headers,
            api_key_header: &security.config().realm.api_key_header,
        }
    }

    fn conclude(&self, parts: &Parts, decision: RateDecision) -> Result<(), Problem> {
        if decision.allowed() {
            record(parts, &self.header, Some(&decision));
            Ok(())
        } else {
            Err(self.refuse(parts, &decision))
        }
    }

    fn refuse(&self, parts: &Parts, decision: &RateDecision) -> Problem {
        record(parts, &self.header, Some(decision));
        self.header.too_many_requests(decision)
    }
}

fn record(parts: &Parts, header: &Arc<PolicyHeader>, decision: Option<&RateDecision>) {
    if let Some(context) = RequestContext::of(parts) {
        context.rate().record(header, decision);
    }
}

/// The client-IP key of a request: the identity the [`SecurityLayer`](crate::SecurityLayer)
/// resolved, masked to the configured IPv6 prefix.
fn client_key(parts: &Parts, security: &Security) -> RateKey {
    let client = RequestContext::of(parts).map(RequestContext::client).unwrap_or_else(|| {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        ClientIdentity::resolve(peer, &parts.headers, security.trusted_proxies(), false)
    });
    RateKey::ip(client.rate_network(security.rate_limits().ipv6_prefix))
}

/// The application's rate limiting: which store, the per-route key cap, the IPv6 prefix that
/// identifies one client, and the per-route limiters (created on first use, keyed by the
/// handler's id, so each route has its own and exhausting one leaves the others untouched).
///
/// # Examples
/// ```
/// use secure_api::{Security, rate::RateLimits};
///
/// let security = Security::builder()
///     .rate_limits(RateLimits::in_memory().max_keys_per_route(50_000).ipv6_prefix(56))
///     .build();
/// # #[cfg(feature = "redis")]
/// assert!(security.rate_limits().redis_store().is_none());
/// ```
pub struct RateLimits {
    #[cfg(feature = "redis")]
    redis: Option<RedisStore>,
    max_keys: usize,
    ipv6_prefix: u8,
    /// Looked up on every rate-limited request; the names are the application's own.
    routes: RwLock<HashMap<&'static str, Arc<RouteLimiter>, foldhash::fast::RandomState>>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("RateLimits");
        #[cfg(feature = "redis")]
        out.field("redis", &self.redis);
        out.field("max_keys_per_route", &self.max_keys).field("ipv6_prefix", &self.ipv6_prefix).finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Limits kept in this process (the default): exact per instance.
    pub fn in_memory() -> Self {
        Self {
            #[cfg(feature = "redis")]
            redis: None,
            max_keys: DEFAULT_MAX_KEYS,
            ipv6_prefix: 64,
            routes: RwLock::default(),
        }
    }

    /// Limits shared by every instance through Redis, with the in-memory limiters as the
    /// fallback during an outage.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(store: RedisStore) -> Self {
        Self { redis: Some(store), ..Self::in_memory() }
    }

    /// The hard cap of keys one route tracks in memory (default 100 000); see
    /// [`MemoryLimiter`] for what happens at the cap.
    pub fn max_keys_per_route(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How many leading bits of an IPv6 address identify one client (default 64: one
    /// customer allocation, so rotating addresses inside it does not reset a limit). Values
    /// above 128 mean 128.
    pub fn ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// The shared store, when one is configured.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_store(&self) -> Option<&RedisStore> {
        self.redis.as_ref()
    }

    /// The limiter of the route with `policy`, created on first use; `None` when the route
    /// declares no `rate`.
    pub fn limiter(&self, policy: &RoutePolicy) -> Option<Arc<RouteLimiter>> {
        let spec = policy.rate()?;
        let route = policy.handler();
        if let Some(limiter) = self.routes.read().unwrap_or_else(PoisonError::into_inner).get(route) {
            return Some(Arc::clone(limiter));
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let limiter =
            routes.entry(route).or_insert_with(|| Arc::new(RouteLimiter::new(route, spec, policy.rate_key(), self)));
        Some(Arc::clone(limiter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_rounded_up_and_never_zero() {
        assert_eq!(RateDecision::deny(Duration::from_millis(1), Duration::ZERO).retry_after_secs(), 1);
        assert_eq!(RateDecision::deny(Duration::from_secs(9), Duration::ZERO).retry_after_secs(), 9);
        assert_eq!(RateDecision::deny(Duration::from_nanos(9_000_000_001), Duration::ZERO).retry_after_secs(), 10);
        assert_eq!(RateDecision::allow(3, Duration::from_millis(100)).reset_secs(), 1);
    }

    #[test]
    fn one_limiter_per_route() {
        const A: RoutePolicy = RoutePolicy::public("app::a").with_rate(RateSpec::new(1, 60));
        const B: RoutePolicy = RoutePolicy::public("app::b").with_rate(RateSpec::new(1, 60));
        let limits = RateLimits::in_memory();
        let a = limits.limiter(&A).unwrap();
        assert!(Arc::ptr_eq(&a, &limits.limiter(&A).unwrap()));
        assert!(!Arc::ptr_eq(&a, &limits.limiter(&B).unwrap()));
        assert!(limits.limiter(&RoutePolicy::public("app::c")).is_none());
    }
}
