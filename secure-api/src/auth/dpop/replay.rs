//! The `jti` replay cache: each proof is accepted once. Bounded in time (an entry is needed only
//! while its proof's `iat` is inside the accepted window; after that the proof is stale anyway)
//! and in memory (a fixed number of entries, the oldest recorded given up first).
//!
//! Not a general-purpose cache: every `jti` is seen once by design, so a cache that keeps what
//! is used again (S3-FIFO, as `quick_cache` does) kept only the few percent of entries of its
//! probation queue, and a proof could be replayed once a few thousand newer ones had passed.
//! Here every entry stays until its proof is stale or `capacity` newer proofs have come.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use crate::context::OncePerMinute;

/// Seen proofs, by a keyed 64-bit hash of `jti` and the key's thumbprint (so one client cannot
/// burn another's ids; keyed per process, so nobody can make two proofs collide on purpose),
/// with the Unix time after which the entry no longer matters.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    hasher: RandomState,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    until: HashMap<u64, u64>,
    /// `(until, key)` in the order recorded: the oldest first, to give up when full and to
    /// drop once stale.
    order: VecDeque<(u64, u64)>,
}

static FULL_REPORTED: OncePerMinute = OncePerMinute::new();

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), hasher: RandomState::new(), seen: Mutex::default() }
    }

    /// Records `jti` until `until`; `false` when it was already recorded and still current.
    pub(crate) fn first_use(&self, thumbprint: &str, jti: &str, now: u64, until: u64) -> bool {
        let key = self.hasher.hash_one((thumbprint, jti));
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let Seen { until: entries, order } = &mut *seen;
        // Stale entries at the front go (proofs arrive in roughly `iat` order; a stale one
        // behind a current one waits for its turn, or for the capacity, and is harmless).
        while let Some(&(stale_until, stale_key)) = order.front().filter(|(until, _)| *until < now) {
            order.pop_front();
            if entries.get(&stale_key) == Some(&stale_until) {
                entries.remove(&stale_key);
            }
        }
        if entries.get(&key).is_some_and(|previous| *previous >= now) {
            return false;
        }
        while entries.len() >= self.capacity {
            let Some((oldest_until, oldest_key)) = order.pop_front() else { break };
            if entries.get(&oldest_key) == Some(&oldest_until) {
                entries.remove(&oldest_key);
                if oldest_until >= now && FULL_REPORTED.due() {
                    tracing::warn!(
                        target: "secure_api::auth",
                        capacity = self.capacity,
                        "the DPoP replay cache is full of current proofs; the oldest are forgotten before they are \
                         stale: raise `DpopVerifier::builder().replay_capacity(..)` above the proofs one instance \
                         takes per window"
                    );
                }
            }
        }
        entries.insert(key, until);
        order.push_back((until, key));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_while_current() {
        let cache = ReplayCache::new(16);
        assert!(cache.first_use("k", "1", 100, 200));
        assert!(!cache.first_use("k", "1", 150, 250));
        assert!(cache.first_use("other-key", "1", 150, 250));
        assert!(cache.first_use("k", "1", 201, 300));
    }

    /// The capacity is real: once the cache is full (a busy instance), a proof followed by
    /// 99 999 newer one-time proofs is still refused when replayed. The `quick_cache` this
    /// replaced kept about 3 % of its capacity for entries never used twice: in this test it
    /// had forgotten the proof after 3 000 newer ones.
    #[test]
    fn every_proof_is_remembered_up_to_the_capacity() {
        let cache = ReplayCache::new(100_000);
        for n in 0..200_000 {
            assert!(cache.first_use("k", &format!("warm-{n}"), 1_000, 1_065));
        }
        assert!(cache.first_use("k", "first", 1_000, 1_065));
        for n in 0..99_999 {
            assert!(cache.first_use("k", &format!("jti-{n}"), 1_000, 1_065));
        }
        assert!(!cache.first_use("k", "first", 1_000, 1_065), "replayed within its window");
        assert_eq!(cache.len(), 100_000);
        // Past the capacity the oldest go first, never the newest.
        assert!(cache.first_use("k", "one-more", 1_000, 1_065));
        assert!(!cache.first_use("k", "jti-99998", 1_000, 1_065));
        assert_eq!(cache.len(), 100_000);
    }

    #[test]
    fn stale_entries_are_dropped_as_time_passes() {
        let cache = ReplayCache::new(1_000);
        for n in 0..500 {
            assert!(cache.first_use("k", &format!("{n}"), 100, 160));
        }
        assert!(cache.first_use("k", "later", 161, 221));
        assert_eq!(cache.len(), 1, "the 500 stale proofs are gone");
    }
}
