//! The in-memory store: one `governor` GCRA limiter per route, over a bounded key map that
//! cleans itself.
//!
//! `governor` decides (its `Quota` and GCRA, with the state snapshot middleware for the
//! remaining count); the key map is ours, a `DashMap` of theoretical arrival times, because the
//! route needs three things `governor`'s own stores do not offer: a hard cap on tracked keys,
//! a read-only look at a key (the failed-authentication gate), and cleanup without a task the
//! user must spawn.
//!
//! The map is keyed by [`CompactKey`], the 16-byte form of a [`RateKey`], so an entry is 24
//! bytes whatever the key's kind: memory per million tracked keys stays near 50 MiB.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use crate::rate::RateDecision;
use crate::rate::key::{CompactKey, RateKey};
use crate::rate::spec::RateSpec;

/// Default hard cap of keys one route tracks in memory.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// How often stale keys are dropped, at most; the check that notices the time is due starts it.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(30);
/// How often cleanup may run while the map is at its cap.
const CLEANUP_INTERVAL_AT_CAP: Duration = Duration::from_secs(1);

/// One route's in-memory limiter.
///
/// # Bounded memory
/// - **Cleanup without a task**: a check that finds the last cleanup 30 s old (1 s while the
///   map is full) drops every key whose state equals a fresh one (the rule of `governor`'s
///   `retain_recent`) and gives the memory back (`shrink_to_fit`), on tokio's blocking pool
///   when a runtime is running, inline otherwise. A route that gets no requests holds only
///   the keys of its last window.
/// - **Hard cap** (`max_keys`, default 100 000 per route): a key already tracked is always
///   checked on its own. Once the map is full, keys not yet tracked share **one overflow
///   bucket** with the route's quota (so callers that arrive during a flood of new keys are
///   limited together, never unlimited) until cleanup makes room; a warning is logged.
///   Memory is therefore bounded by `max_keys` entries of about 53 bytes each, whatever the
///   kind of key (a 16-byte form of the key and an 8-byte arrival time, plus the hash table's
///   power-of-two slack: 50 MiB per million keys, BENCHMARKS.md), so the default cap holds a
///   route's map near 5 MiB.
///
/// # Examples
/// ```
/// use secure_api::rate::{MemoryLimiter, RateKey, RateSpec};
///
/// let limiter = MemoryLimiter::new(RateSpec::new(2, 60), 1_000);
/// let alice = RateKey::principal("alice");
/// assert!(limiter.check(&alice).allowed());
/// assert!(limiter.check(&alice).allowed());
/// let third = limiter.check(&alice);
/// assert!(!third.allowed());
/// assert_eq!(third.retry_after_secs(), 30); // one request per 60 s / 2
/// assert!(limiter.check(&RateKey::principal("bob")).allowed());
/// ```
pub struct MemoryLimiter {
    limiter: RateLimiter<CompactKey, KeyStore, RouteClock, StateInformationMiddleware>,
    keys: Arc<Keys>,
    count: u32,
    /// GCRA emission interval and tolerance, in nanoseconds.
    period: u64,
    tau: u64,
    /// When cleanup last ran (nanoseconds on the route's clock).
    last_cleanup: AtomicU64,
}

impl std::fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("count", &self.count)
            .field("period_ns", &self.period)
            .field("keys", &self.len())
            .field("max_keys", &self.keys.max_keys)
            .finish()
    }
}

impl MemoryLimiter {
    /// A limiter for `spec` tracking at most `max_keys` keys (at least 1).
    pub fn new(spec: RateSpec, max_keys: usize) -> Self {
        let period = spec.period_nanos();
        let burst = NonZeroU32::new(spec.count()).unwrap_or(NonZeroU32::MIN);
        // `period` is at least 1 µs (RateSpec guarantees it), so the quota always exists.
        let quota = Quota::with_period(Duration::from_nanos(period))
            .unwrap_or_else(|| Quota::with_period(Duration::from_nanos(1_000)).unwrap_or(Quota::per_second(burst)))
            .allow_burst(burst);
        let keys = Arc::new(Keys {
            map: DashMap::default(),
            max_keys: max_keys.max(1),
            warned_at_cap: AtomicBool::new(false),
        });
        let clock = RouteClock::default();
        let limiter = RateLimiter::new(quota, KeyStore(Arc::clone(&keys)), clock);
        Self {
            limiter,
            keys,
            count: spec.count(),
            period,
            tau: period * u64::from(spec.count() - 1),
            last_cleanup: AtomicU64::new(0),
        }
    }

    /// Counts one request against `key`.
    pub fn check(&self, key: &RateKey) -> RateDecision {
        let decision = match self.limiter.check_key(&key.compact()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                // `governor` does not expose the new arrival time; `(N - remaining) * T` is its
                // upper bound (within one period), so the reset is never announced too early.
                let reset = u64::from(self.count.saturating_sub(remaining)) * self.period;
                RateDecision::allow(remaining, Duration::from_nanos(reset))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                RateDecision::deny(wait, wait + Duration::from_nanos(self.tau))
            }
        };
        self.maybe_clean_up();
        decision
    }

    /// Like [`check`](Self::check), but first denies when `gate` has no quota left, without
    /// counting against it: how a route refuses a client IP whose failed authentication
    /// attempts used up the route's quota, whatever credentials it now presents.
    pub fn check_gated(&self, gate: &RateKey, key: &RateKey) -> RateDecision {
        if let Some(denied) = self.peek_denied(gate) {
            return denied;
        }
        self.check(key)
    }

    /// The decision `key` would get now, if it is a denial; no state changes. A key not yet
    /// tracked while the map is full is looked up as the overflow bucket it would be counted in.
    pub(crate) fn peek_denied(&self, key: &RateKey) -> Option<RateDecision> {
        let tracked = self.keys.map.get(&key.compact()).map(|state| state.load(Ordering::Acquire));
        let tat = match tracked {
            Some(tat) => tat,
            None if self.keys.map.len() >= self.keys.max_keys => {
                self.keys.map.get(&CompactKey::OVERFLOW)?.load(Ordering::Acquire)
            }
            None => return None,
        };
        let now = self.limiter.clock().now().as_u64();
        let earliest = tat.saturating_sub(self.tau);
        (now < earliest).then(|| {
            let wait = earliest - now;
            RateDecision::deny(Duration::from_nanos(wait), Duration::from_nanos(wait + self.tau))
        })
    }

    /// Keys tracked right now (including stale ones not yet cleaned up).
    pub fn len(&self) -> usize {
        self.keys.map.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.keys.map.is_empty()
    }

    /// Drops every key whose state is the same as a fresh key's and releases the memory.
    /// Runs by itself; public for tests and operators who want it now.
    pub fn clean_up(&self) {
        let drop_below = self.limiter.clock().now().as_u64().saturating_sub(self.period);
        self.keys.clean_up(drop_below);
    }

    fn maybe_clean_up(&self) {
        let now = self.limiter.clock().now().as_u64();
        let last = self.last_cleanup.load(Ordering::Relaxed);
        let elapsed = now.saturating_sub(last);
        // The common case costs one atomic load: nothing is due before the shorter interval.
        if elapsed < duration_nanos(CLEANUP_INTERVAL_AT_CAP) {
            return;
        }
        if elapsed < duration_nanos(CLEANUP_INTERVAL) && self.keys.map.len() < self.keys.max_keys {
            return;
        }
        // One caller wins the run; the others go on without waiting.
        if self.last_cleanup.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return;
        }
        let drop_below = now.saturating_sub(self.period);
        let keys = Arc::clone(&self.keys);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || keys.clean_up(drop_below));
            }
            Err(_) => keys.clean_up(drop_below),
        }
    }
}

/// The key map shared by the limiter and the cleanup.
struct Keys {
    /// Theoretical arrival time per key, in nanoseconds since the limiter was created
    /// (0 means "never seen", as in `governor`'s own state).
    /// foldhash's quality variant, seeded at random per map: keys are chosen by clients (their
    /// addresses), so the hash must not be predictable, and SipHash cost more than the rest of
    /// a lookup.
    map: DashMap<CompactKey, AtomicU64, foldhash::quality::RandomState>,
    max_keys: usize,
    warned_at_cap: AtomicBool,
}

impl Keys {
    fn clean_up(&self, drop_below: u64) {
        let before = self.map.len();
        self.map.retain(|_, tat| tat.load(Ordering::Relaxed) > drop_below);
        if self.map.len() < before {
            self.map.shrink_to_fit();
        }
        if self.map.len() < self.max_keys {
            self.warned_at_cap.store(false, Ordering::Relaxed);
        }
    }
}

/// `governor`'s view of [`Keys`].
struct KeyStore(Arc<Keys>);

impl StateStore for KeyStore {
    type Key = CompactKey;

    fn measure_and_replace<T, F, E>(&self, key: &CompactKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let keys = &self.0;
        if let Some(state) = keys.map.get(key) {
            return measure(&state, f);
        }
        let key = if keys.map.len() >= keys.max_keys {
            if !keys.warned_at_cap.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    target: "secure_api::rate",
                    max_keys = keys.max_keys,
                    "a route's in-memory rate limiter is full; new callers share one overflow bucket until stale keys expire"
                );
            }
            CompactKey::OVERFLOW
        } else {
            *key
        };
        let state = keys.map.entry(key).or_default();
        measure(&state, f)
    }
}

/// The compare-and-swap loop of `governor`'s `InMemoryState`: decide on the current arrival
/// time, store the new one only if nobody changed it meanwhile, otherwise decide again.
fn measure<T, F, E>(state: &AtomicU64, f: F) -> Result<T, E>
where
    F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
{
    let mut previous = state.load(Ordering::Acquire);
    loop {
        let current = (previous != 0).then(|| Nanos::new(previous));
        let (result, next) = f(current)?;
        match state.compare_exchange_weak(previous, next.as_u64(), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(result),
            Err(actual) => previous = actual,
        }
    }
}

/// A monotonic clock in nanoseconds whose **first reading is 0**: `governor` reads it once when
/// the limiter is created and measures every arrival time from there, so with this clock the
/// stored arrival times and `now()` share one origin and the route can read a key's state
/// (for the gate) without access to `governor`'s private start instant.
#[derive(Debug, Default)]
struct RouteClock {
    origin: OnceLock<Instant>,
}

impl Clock for RouteClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        match self.origin.get() {
            Some(origin) => Nanos::new(duration_nanos(origin.elapsed())),
            None => {
                let _ = self.origin.set(Instant::now());
                Nanos::new(0)
            }
        }
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(count: u32, window_secs: u64) -> RateSpec {
        RateSpec::new(count, window_secs)
    }

    #[test]
    fn fresh_caller_bursts_n_then_waits_one_period() {
        let limiter = MemoryLimiter::new(spec(5, 60), 100);
        let key = RateKey::principal("alice");
        let remaining: Vec<u32> = (0..5).map(|_| limiter.check(&key).remaining()).collect();
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        let denied = limiter.check(&key);
        assert!(!denied.allowed());
        assert_eq!(denied.retry_after_secs(), 12, "one request per 60 s / 5");
        assert_eq!(denied.reset_secs(), 60, "the full quota is back after the whole window");
    }

    #[test]
    fn reset_after_an_allowed_request() {
        let limiter = MemoryLimiter::new(spec(100, 900), 100);
        let decision = limiter.check(&RateKey::principal("alice"));
        assert_eq!(decision.remaining(), 99);
        assert_eq!(decision.reset_secs(), 9);
    }

    #[test]
    fn keys_are_independent() {
        let limiter = MemoryLimiter::new(spec(1, 60), 100);
        assert!(limiter.check(&RateKey::principal("a")).allowed());
        assert!(!limiter.check(&RateKey::principal("a")).allowed());
        assert!(limiter.check(&RateKey::principal("b")).allowed());
    }

    #[test]
    fn kinds_with_the_same_value_are_independent() {
        let limiter = MemoryLimiter::new(spec(1, 60), 100);
        let keys = [
            RateKey::ip("192.0.2.1".parse().unwrap()),
            RateKey::principal("192.0.2.1"),
            RateKey::api_key(b"192.0.2.1"),
            RateKey::header(b"192.0.2.1"),
            RateKey::ip("2001:db8::".parse().unwrap()),
            RateKey::ip("2001:db8::1".parse().unwrap()),
        ];
        for key in &keys {
            assert!(limiter.check(key).allowed(), "{key}");
        }
        for key in &keys {
            assert!(!limiter.check(key).allowed(), "{key}");
        }
        assert_eq!(limiter.len(), keys.len());
    }

    #[test]
    fn gate_denies_without_counting() {
        let limiter = MemoryLimiter::new(spec(2, 60), 100);
        let ip = RateKey::ip("192.0.2.1".parse().unwrap());
        let alice = RateKey::principal("alice");
        // The gate key has quota: the request is counted against `alice` only.
        assert!(limiter.check_gated(&ip, &alice).allowed());
        assert!(limiter.check(&ip).allowed());
        assert!(limiter.check(&ip).allowed());
        // Now the IP is exhausted: gated checks are denied and `alice` is not charged.
        assert!(!limiter.check_gated(&ip, &alice).allowed());
        assert_eq!(limiter.check(&alice).remaining(), 0, "alice was charged once, not twice");
    }

    #[test]
    fn at_the_cap_new_keys_share_one_overflow_bucket() {
        let limiter = MemoryLimiter::new(spec(2, 3_600), 3);
        for name in ["a", "b", "c"] {
            assert!(limiter.check(&RateKey::principal(name)).allowed());
        }
        assert_eq!(limiter.len(), 3);
        // Tracked keys keep their own budget.
        assert!(limiter.check(&RateKey::principal("a")).allowed());
        // New keys share the overflow bucket: two pass in total, then everyone new waits.
        assert!(limiter.check(&RateKey::principal("d")).allowed());
        assert!(limiter.check(&RateKey::principal("e")).allowed());
        assert!(!limiter.check(&RateKey::principal("f")).allowed());
        assert!(limiter.len() <= 4, "one overflow entry at most: {}", limiter.len());
    }

    #[test]
    fn cleanup_drops_stale_keys() {
        // 1 000 requests per second: a key is stale one millisecond after its last request.
        let limiter = MemoryLimiter::new(spec(1_000, 1), 10_000);
        for n in 0..500 {
            limiter.check(&RateKey::principal(&n.to_string()));
        }
        assert_eq!(limiter.len(), 500);
        std::thread::sleep(Duration::from_millis(10));
        limiter.clean_up();
        assert!(limiter.is_empty(), "{} keys left", limiter.len());
    }

    #[test]
    fn concurrent_checks_are_exact() {
        let limiter = Arc::new(MemoryLimiter::new(spec(1_000, 3_600), 10));
        let key = RateKey::principal("shared");
        let allowed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let limiter = Arc::clone(&limiter);
                    let key = key.clone();
                    scope.spawn(move || (0..200).filter(|_| limiter.check(&key).allowed()).count())
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).sum()
        });
        assert_eq!(allowed, 1_000);
    }
}
