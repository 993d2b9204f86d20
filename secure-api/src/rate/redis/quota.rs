//! Local quota (opt-in, [`RedisStore::local_quota`](super::RedisStore::local_quota)): an
//! instance takes a small batch of a caller's shared quota from Redis in one round trip and
//! spends it locally, so most requests of a busy caller need no round trip.
//!
//! Every permit is counted in Redis when its batch is taken, before it is spent, so across
//! all instances no more requests are admitted than Redis counted. What the mode trades:
//! - a permit is spent up to the lease's duration after Redis counted it, so in a window of
//!   length `W` a caller can be admitted what plain Redis limiting admits in `W + lease`;
//! - an instance's unspent permits are not given back: they expire with the lease, and until
//!   then the caller's other instances see them as used. A caller spread over `M` instances can
//!   meet a `429` after `limit - M × (batch - 1)` requests within a period (stricter, never
//!   looser); on one instance it gets the whole limit;
//! - a client address's failed-authentication gate is read when a batch is taken, so a gate
//!   that closes meanwhile refuses that caller from its next batch (within one lease).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::rate::RateDecision;

/// The mode's settings, validated by [`RedisStore::local_quota`](super::RedisStore::local_quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalQuota {
    /// Permits asked for per round trip (at least 2).
    pub(crate) batch: u32,
    /// How long taken permits may be spent.
    pub(crate) lease: Duration,
}

/// How many callers' leases one route keeps at most: an evicted lease only loses its unspent
/// permits (stricter), and memory stays bounded whatever the number of callers.
const MAX_LEASES_PER_ROUTE: usize = 100_000;

/// Permits one instance took for one caller of one route, and what Redis reported then.
#[derive(Debug)]
struct Lease {
    left: AtomicU32,
    taken_at: Instant,
    /// Redis's remaining count and reset when the batch was taken (the batch already counted).
    shared_remaining: u32,
    reset: Duration,
    policy: usize,
}

/// One route's leases, by the caller's Redis key.
pub(crate) struct Leases {
    quota: LocalQuota,
    by_key: Cache<String, Arc<Lease>>,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases").field("quota", &self.quota).field("held", &self.by_key.len()).finish()
    }
}

impl Leases {
    pub(crate) fn new(quota: LocalQuota) -> Self {
        Self { quota, by_key: Cache::new(MAX_LEASES_PER_ROUTE) }
    }

    /// How many permits to ask Redis for at a time.
    pub(crate) fn batch(&self) -> u32 {
        self.quota.batch
    }

    /// Spends one permit of `key`'s lease, if it holds one that has not expired: the decision
    /// to report (the caller's remaining count is Redis's plus what this lease still holds).
    pub(crate) fn spend(&self, key: &str) -> Option<RateDecision> {
        let lease = self.by_key.get(key)?;
        let age = lease.taken_at.elapsed();
        if age >= self.quota.lease {
            return None;
        }
        let left = lease.left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(1)).ok()? - 1;
        let decision =
            RateDecision::allow(lease.shared_remaining.saturating_add(left), lease.reset.saturating_sub(age));
        Some(decision.for_policy(lease.policy))
    }

    /// Keeps the permits of a batch Redis granted beyond the one this request spends, and
    /// returns the decision to report for this request.
    ///
    /// Requests of one caller that found the lease empty at the same moment each take a batch;
    /// the permits still held are carried into the new lease rather than dropped, under the
    /// older lease's start, so no permit is spent later than `lease` after it was counted.
    pub(crate) fn keep(&self, key: String, granted: u32, decision: RateDecision) -> RateDecision {
        let fresh = granted.saturating_sub(1);
        if !decision.allowed() || fresh == 0 {
            return decision;
        }
        let carried = self
            .by_key
            .get(&key)
            .filter(|old| old.taken_at.elapsed() < self.quota.lease)
            .map(|old| (old.left.swap(0, Ordering::AcqRel), old.taken_at))
            .filter(|(carried, _)| *carried > 0);
        let (carried, taken_at) = carried.unwrap_or_else(|| (0, Instant::now()));
        let left = fresh.saturating_add(carried);
        let lease = Lease {
            left: AtomicU32::new(left),
            taken_at,
            shared_remaining: decision.remaining(),
            reset: decision.reset(),
            policy: decision.policy_index(),
        };
        self.by_key.insert(key, Arc::new(lease));
        RateDecision::allow(decision.remaining().saturating_add(left), decision.reset())
            .for_policy(decision.policy_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leases(lease: Duration) -> Leases {
        Leases::new(LocalQuota { batch: 5, lease })
    }

    #[test]
    fn a_granted_batch_is_spent_locally_then_runs_out() {
        let leases = leases(Duration::from_secs(60));
        assert!(leases.spend("k").is_none(), "nothing taken yet");
        let first = leases.keep("k".into(), 5, RateDecision::allow(10, Duration::from_secs(30)));
        assert_eq!(first.remaining(), 14, "10 left in Redis and 4 held here");
        let spent: Vec<u32> = std::iter::from_fn(|| leases.spend("k")).map(|decision| decision.remaining()).collect();
        assert_eq!(spent, [13, 12, 11, 10]);
        assert!(leases.spend("other").is_none());
    }

    #[test]
    fn a_refusal_or_a_single_permit_keeps_no_lease() {
        let leases = leases(Duration::from_secs(60));
        let refused = RateDecision::deny(Duration::from_secs(1), Duration::from_secs(2));
        assert!(!leases.keep("k".into(), 0, refused).allowed());
        assert!(leases.spend("k").is_none());
        leases.keep("k".into(), 1, RateDecision::allow(0, Duration::from_secs(1)));
        assert!(leases.spend("k").is_none());
    }

    #[test]
    fn permits_still_held_are_carried_into_the_next_batch() {
        let leases = leases(Duration::from_secs(60));
        leases.keep("k".into(), 5, RateDecision::allow(10, Duration::from_secs(30)));
        leases.spend("k");
        // Another request found no permit at the same time and took a batch too: 3 + 4 held.
        let second = leases.keep("k".into(), 5, RateDecision::allow(5, Duration::from_secs(30)));
        assert_eq!(second.remaining(), 12);
        assert_eq!(std::iter::from_fn(|| leases.spend("k")).count(), 7);
    }

    #[test]
    fn an_expired_lease_is_not_spent() {
        let leases = leases(Duration::from_millis(1));
        leases.keep("k".into(), 5, RateDecision::allow(10, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(5));
        assert!(leases.spend("k").is_none());
    }
}
