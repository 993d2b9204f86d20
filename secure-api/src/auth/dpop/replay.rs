//! The `jti` replay cache: each proof is accepted once. Bounded in time (an entry is needed only
//! while its proof's `iat` is inside the accepted window; after that the proof is stale anyway)
//! and in memory (a fixed number of entries, `quick_cache`'s S3-FIFO eviction).

use quick_cache::sync::Cache;

/// Seen proofs: `jti` (with the key's thumbprint, so one client cannot burn another's ids) →
/// the Unix time after which the entry no longer matters.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    seen: Cache<String, u64>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { seen: Cache::new(capacity.max(1)) }
    }

    /// Records `jti` until `until`; `false` when it was already recorded and still current.
    pub(crate) fn first_use(&self, thumbprint: &str, jti: &str, now: u64, until: u64) -> bool {
        let key = format!("{thumbprint}.{jti}");
        let mut inserted = false;
        let result = self.seen.get_or_insert_with(&key, || {
            inserted = true;
            Ok::<u64, std::convert::Infallible>(until)
        });
        if inserted {
            return true;
        }
        match result {
            // Seen, but its proof is stale by now: the entry is just left over.
            Ok(previous_until) if previous_until < now => {
                self.seen.insert(key, until);
                true
            }
            _ => false,
        }
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
}
