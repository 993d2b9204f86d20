//! Per-route limiters, the registry that holds them, and [`limit`], the one way the guard uses
//! them.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http::HeaderName;
use http::request::Parts;

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
    /// Which of the route's limits (in declaration order) this decision reports.
    policy: usize,
}

impl RateDecision {
    pub(crate) fn allow(remaining: u32, reset: Duration) -> Self {
        Self { allowed: true, remaining, reset, retry_after: Duration::ZERO, policy: 0 }
    }

    pub(crate) fn deny(retry_after: Duration, reset: Duration) -> Self {
        Self { allowed: false, remaining: 0, reset, retry_after, policy: 0 }
    }

    /// This decision, reported for the route's limit number `index`.
    pub(crate) fn for_policy(mut self, index: usize) -> Self {
        self.policy = index;
        self
    }

    /// Which of the route's limits this decision reports, by declaration order (0 on a route
    /// with one limit): the one closest to exhaustion when allowed, the one that refused
    /// longest when denied.
    pub fn policy_index(&self) -> usize {
        self.policy
    }

    /// Of two allowed decisions, the one closer to exhaustion: fewer requests left, then the
    /// later reset.
    pub(crate) fn closer_to_exhaustion(self, other: Self) -> Self {
        if (other.remaining, std::cmp::Reverse(other.reset)) < (self.remaining, std::cmp::Reverse(self.reset)) {
            other
        } else {
            self
        }
    }

    /// Of two denials, the one that refuses longer: a client that waits its `Retry-After`
    /// finds every limit ready again.
    pub(crate) fn longer_refusal(self, other: Self) -> Self {
        if (other.retry_after, other.reset) > (self.retry_after, self.reset) { other } else { self }
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

/// One of a route's limits: its spec and its in-memory limiter.
struct Limit {
    spec: RateSpec,
    memory: MemoryLimiter,
}

/// One route's limiter: its limits (one per `rate` entry, all must pass) and key kind, the
/// in-memory limiters, and the shared store when one is configured (the in-memory limiters
/// then serve as the fallback).
///
/// # Several limits
/// `rate = ["10/1s", "1000/1h"]` declares two limits counted against the same key. A request
/// passes when every limit has room, and only then is it counted, against every limit: a
/// request refused by one limit consumes none of the others. In memory the check looks at
/// every limit first and counts afterwards; should two requests of one key race between the
/// two steps, the loser may be counted on a limit it is then refused by (stricter, never
/// looser). In Redis one script checks and counts all limits atomically.
pub struct RouteLimiter {
    /// The first declared limit, and the others: a route limiter has at least one.
    first: Limit,
    more: Vec<Limit>,
    key_kind: RateKeyKind,
    #[cfg(feature = "redis")]
    redis: Option<(RedisStore, Vec<String>)>,
    /// The callers' permits taken from Redis in batches, when the store's local quota is on.
    #[cfg(feature = "redis")]
    leases: Option<super::redis::Leases>,
    header: Arc<PolicyHeader>,
}

impl std::fmt::Debug for RouteLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("RouteLimiter");
        let specs: Vec<RateSpec> = self.specs().collect();
        out.field("specs", &specs).field("key", &self.key_kind).field("memory", self.memory());
        #[cfg(feature = "redis")]
        out.field("redis", &self.redis.as_ref().map(|(_, prefixes)| prefixes));
        out.finish()
    }
}

impl RouteLimiter {
    /// `specs` is never empty (the registry only builds limiters for routes with a `rate`).
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    fn new(route: &str, specs: &[RateSpec], key_kind: RateKeyKind, limits: &RateLimits) -> Self {
        let limit = |spec: &RateSpec| Limit { spec: *spec, memory: MemoryLimiter::new(*spec, limits.max_keys) };
        // Never empty in practice; should it be, the route is limited to 1/1s rather than open.
        const FALLBACK: &RateSpec = &RateSpec::new(1, 1);
        let (first, more) = specs.split_first().unwrap_or((FALLBACK, &[]));
        let specs = if specs.is_empty() { std::slice::from_ref(first) } else { specs };
        Self {
            #[cfg(feature = "redis")]
            redis: limits.redis.as_ref().map(|store| {
                // A route with one limit keeps the key names it always had; with several, each
                // limit gets its own keys, named by its spec.
                let prefixes = if specs.len() == 1 {
                    vec![store.route_prefix(route)]
                } else {
                    specs.iter().map(|spec| store.route_prefix(&format!("{route}#{spec}"))).collect()
                };
                (store.clone(), prefixes)
            }),
            #[cfg(feature = "redis")]
            leases: limits.redis.as_ref().and_then(RedisStore::leases),
            header: Arc::new(PolicyHeader::new(specs)),
            first: limit(first),
            more: more.iter().map(limit).collect(),
            key_kind,
        }
    }

    /// The route's first declared rate.
    pub fn spec(&self) -> RateSpec {
        self.first.spec
    }

    /// Every rate of the route, in declaration order.
    pub fn specs(&self) -> impl Iterator<Item = RateSpec> + '_ {
        self.limits().map(|limit| limit.spec)
    }

    fn limits(&self) -> impl Iterator<Item = &Limit> + '_ {
        std::iter::once(&self.first).chain(&self.more)
    }

    /// What the route counts requests against.
    pub fn key_kind(&self) -> RateKeyKind {
        self.key_kind
    }

    /// The in-memory limiter of the first declared rate (the only one, or the fallback of the
    /// shared store).
    pub fn memory(&self) -> &MemoryLimiter {
        &self.first.memory
    }

    /// The in-memory limiters, one per rate in declaration order.
    pub fn memories(&self) -> impl Iterator<Item = &MemoryLimiter> + '_ {
        self.limits().map(|limit| &limit.memory)
    }

    /// Counts one request against `key`: in the shared store when there is one and it answers,
    /// in memory otherwise.
    pub async fn check(&self, key: &RateKey) -> RateDecision {
        self.decide(None, key).await
    }

    /// Like [`check`](Self::check), but denies first, without counting, when `gate` has used up
    /// its quota on any limit (see [`MemoryLimiter::check_gated`]).
    pub async fn check_gated(&self, gate: &RateKey, key: &RateKey) -> RateDecision {
        self.decide(Some(gate), key).await
    }

    #[cfg_attr(not(feature = "redis"), allow(clippy::unused_async))]
    async fn decide(&self, gate: Option<&RateKey>, key: &RateKey) -> RateDecision {
        #[cfg(feature = "redis")]
        if let Some((store, prefixes)) = &self.redis {
            let key_names: Vec<String> = prefixes.iter().map(|prefix| format!("{prefix}{key}")).collect();
            let gate_names: Option<Vec<String>> =
                gate.map(|gate| prefixes.iter().map(|prefix| format!("{prefix}{gate}")).collect());
            let windows: Vec<(u64, u64)> = self
                .limits()
                .map(|limit| {
                    let period = limit.spec.period_micros();
                    (period, period * u64::from(limit.spec.count() - 1))
                })
                .collect();
            // A lease is kept under the caller's key of the first limit (one per route and
            // caller). A gate (the client IP's failed-authentication budget) is read when a
            // batch is taken: a gate closed meanwhile applies from the next batch.
            let leases = self.leases.as_ref();
            if let Some(decision) = leases.zip(key_names.first()).and_then(|(leases, key)| leases.spend(key)) {
                return decision;
            }
            let batch = leases.map_or(1, super::redis::Leases::batch);
            // Boxed: the Redis round trip's state would otherwise size every rate-limited
            // request's future, in-memory ones included (it is moved several times per request).
            if let Some((decision, granted)) =
                Box::pin(store.check(&key_names, gate_names.as_deref(), &windows, batch)).await
            {
                return match (leases, key_names.into_iter().next()) {
                    (Some(leases), Some(key)) => leases.keep(key, granted, decision),
                    _ => decision,
                };
            }
        }
        self.decide_in_memory(gate, key)
    }

    /// Every limit in memory: look first (gate, then key), count only when all have room.
    fn decide_in_memory(&self, gate: Option<&RateKey>, key: &RateKey) -> RateDecision {
        if self.more.is_empty() {
            // One limit: its check is already all-or-nothing.
            return match gate {
                Some(gate) => self.first.memory.check_gated(gate, key),
                None => self.first.memory.check(key),
            };
        }
        let refusal = |of: &RateKey| {
            self.limits()
                .enumerate()
                .filter_map(|(index, limit)| limit.memory.peek_denied(of).map(|denied| denied.for_policy(index)))
                .reduce(RateDecision::longer_refusal)
        };
        if let Some(denied) = gate.and_then(refusal).or_else(|| refusal(key)) {
            return denied;
        }
        let mut report = self.first.memory.check(key);
        for (index, limit) in self.limits().enumerate().skip(1) {
            if !report.allowed() {
                break;
            }
            let decision = limit.memory.check(key).for_policy(index);
            report = if decision.allowed() { report.closer_to_exhaustion(decision) } else { decision };
        }
        // A denial here lost a race with a request of the same key since the look: refused,
        // and the limits already counted stay counted (stricter, never looser).
        report
    }

    fn inputs<'a>(
        &self,
        parts: &'a Parts,
        api_key_header: &'a HeaderName,
        client: RateKey,
        principal: Option<&'a Principal>,
    ) -> KeyInputs<'a> {
        KeyInputs { client, principal, headers: &parts.headers, api_key_header }
    }
}

/// Who the guard is counting at [pipeline](crate::pipeline) step 4.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Caller<'a> {
    /// No principal: a `#[public]` route, or an `auth_optional` one called without credentials.
    Anonymous,
    /// Credentials were sent and refused: the attempt counts against the client IP.
    FailedAuthentication,
    /// The authenticated principal.
    Authenticated(&'a Principal),
}

/// [Pipeline](crate::pipeline) step 4, the one way a request is counted against its route's
/// limits: `Err` is the 429 to send. A route without `rate` is not limited. The client IP is the
/// one the [`RequestContext`] resolved (masked to the configured IPv6 prefix), and the decision
/// goes into it for the response's RateLimit fields.
///
/// - [`Caller::Anonymous`]: counted against the route's key (the client IP unless `key` names
///   a header).
/// - [`Caller::FailedAuthentication`]: counted against the client IP; `Ok` means "send the
///   authentication error", and a client that used up the route's quota with failed attempts
///   gets 429 instead, so guessing goes no faster than the route's rate.
/// - [`Caller::Authenticated`]: counted against the route's key, with the client IP as a gate:
///   if its failed attempts used up the quota, the request is refused whatever credentials it
///   carries, so a client cannot tell a guessed credential from a wrong one by the answer.
///
/// `limits` and `api_key_header` (for `key = "api_key"`) are the app's, from its
/// [`Security`](crate::Security); taking them rather than the whole state keeps `rate` below
/// `state`. The keys are worked out before the returned future starts, so the future (moved
/// with every request's) holds the keys and the limiter, not the request.
pub(crate) fn limit<'a>(
    limits: &RateLimits,
    api_key_header: &HeaderName,
    policy: &RoutePolicy,
    parts: &Parts,
    context: &'a RequestContext,
    caller: Caller<'_>,
) -> impl Future<Output = Result<(), Problem>> + Send + 'a {
    let counted = limits.limiter(policy).map(|limiter| {
        let client = RateKey::ip(context.client().rate_network(limits.ipv6_prefix));
        let count = match caller {
            Caller::Anonymous => {
                let key = limiter.key_kind.resolve(&limiter.inputs(parts, api_key_header, client, None));
                Count { gate: None, key, failed_attempt: false }
            }
            Caller::FailedAuthentication => Count { gate: None, key: client, failed_attempt: true },
            Caller::Authenticated(principal) => {
                let key =
                    limiter.key_kind.resolve(&limiter.inputs(parts, api_key_header, client.clone(), Some(principal)));
                let gate = (key != client).then_some(client);
                Count { gate, key, failed_attempt: false }
            }
        };
        (limiter, count)
    });
    async move {
        let Some((limiter, count)) = counted else {
            return Ok(());
        };
        // One await: each store call is its own future, and the request's future is as large as
        // the largest of them.
        let decision = limiter.decide(count.gate.as_ref(), &count.key).await;
        if count.failed_attempt && decision.allowed() {
            // The policy is reported, not the remaining quota: the request was not served.
            context.rate().record(&limiter.header, None);
            return Ok(());
        }
        context.rate().record(&limiter.header, Some(&decision));
        if decision.allowed() { Ok(()) } else { Err(limiter.header.too_many_requests(&decision)) }
    }
}

/// What one request is counted against: `key`, unless `gate` (the client IP) is already out of
/// quota (see [`RouteLimiter::check_gated`]).
struct Count {
    gate: Option<RateKey>,
    key: RateKey,
    /// A failed authentication, counted against the client IP (`key`).
    failed_attempt: bool,
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
    /// fallback during an outage. The store may be one server, a Redis Cluster or the master
    /// Redis Sentinel names; see [`RedisStore::open`] for the URLs.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{Security, rate::{RateLimits, RedisStore}};
    ///
    /// // The master three sentinels watch as `mymaster`, found again after a failover.
    /// let store = RedisStore::open("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster")?;
    /// let security = Security::builder().rate_limits(RateLimits::redis(store.namespace("items-api"))).build();
    /// assert!(security.rate_limits().redis_store().is_some_and(RedisStore::is_sentinel));
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
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
        policy.rate()?;
        let route = policy.handler();
        if let Some(limiter) = self.routes.read().unwrap_or_else(PoisonError::into_inner).get(route) {
            return Some(Arc::clone(limiter));
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let limiter = routes
            .entry(route)
            .or_insert_with(|| Arc::new(RouteLimiter::new(route, policy.rates(), policy.rate_key(), self)));
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

    #[tokio::test]
    async fn every_limit_must_pass_and_a_refusal_consumes_none() {
        // The refusing limit is declared last, so counting limits in order until one refuses
        // would charge the first: the test fails on that.
        const ROUTE: RoutePolicy =
            RoutePolicy::public("app::multi").with_rates(&[RateSpec::new(5, 86_400), RateSpec::new(3, 3600)]);
        let limiter = RateLimits::in_memory().limiter(&ROUTE).unwrap();
        let alice = RateKey::principal("alice");
        // Reported: the limit closest to exhaustion, the 3/1h one (2 left of 3, 4 of 5).
        let first = limiter.check(&alice).await;
        assert_eq!((first.allowed(), first.remaining(), first.policy_index()), (true, 2, 1));
        limiter.check(&alice).await;
        limiter.check(&alice).await;
        // The hourly limit refuses; the daily one, which still has 2, is not charged for it.
        for _ in 0..3 {
            let refused = limiter.check(&alice).await;
            assert_eq!((refused.allowed(), refused.policy_index()), (false, 1));
            assert_eq!(refused.retry_after_secs(), 1200);
        }
        let memories: Vec<&MemoryLimiter> = limiter.memories().collect();
        let [daily, _] = memories.as_slice() else { panic!("two limits") };
        assert_eq!(daily.check(&alice).remaining(), 1, "3 counted before, this is the 4th of 5");
    }

    #[tokio::test]
    async fn the_longer_refusal_is_reported() {
        const ROUTE: RoutePolicy =
            RoutePolicy::public("app::multi").with_rates(&[RateSpec::new(2, 60), RateSpec::new(1, 3600)]);
        let limiter = RateLimits::in_memory().limiter(&ROUTE).unwrap();
        let bob = RateKey::principal("bob");
        let first = limiter.check(&bob).await;
        assert_eq!((first.remaining(), first.policy_index()), (0, 1), "0 left of 1/1h beats 1 left of 2/1m");
        let refused = limiter.check(&bob).await;
        assert_eq!((refused.allowed(), refused.policy_index(), refused.retry_after_secs()), (false, 1, 3600));
    }

    #[tokio::test]
    async fn a_gate_exhausted_on_any_limit_refuses_without_counting() {
        const ROUTE: RoutePolicy =
            RoutePolicy::public("app::multi").with_rates(&[RateSpec::new(5, 86_400), RateSpec::new(2, 3600)]);
        let limiter = RateLimits::in_memory().limiter(&ROUTE).unwrap();
        let ip = RateKey::ip("192.0.2.1".parse().unwrap());
        let alice = RateKey::principal("alice");
        // Two failed attempts use up the client IP's 2/1h.
        assert!(limiter.check(&ip).await.allowed());
        assert!(limiter.check(&ip).await.allowed());
        let refused = limiter.check_gated(&ip, &alice).await;
        assert_eq!((refused.allowed(), refused.policy_index()), (false, 1));
        // Alice was not counted on either limit.
        let first = limiter.check(&alice).await;
        assert_eq!((first.remaining(), first.policy_index()), (1, 1), "1 of 2/1h left, 4 of 5/1d");
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
