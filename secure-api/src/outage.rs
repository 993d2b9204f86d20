//! "Log once per outage": when a dependency (an identity provider's key set or introspection
//! endpoint, the Redis rate-limit store) fails, the operator gets one error line when the
//! outage starts and one info line when it ends, never a line per request in between, however
//! many requests meet the failure. The callers write their own lines (each knows its fields);
//! this type only decides which line a failure or a success deserves.
//!
//! # Examples
//! ```ignore
//! // (crate-internal)
//! let outage = Outage::new();
//! if outage.failed() {
//!     tracing::error!("the store is unavailable");   // the first failure only
//! }
//! if outage.recovered() {
//!     tracing::info!("the store answers again");     // the first success after failures only
//! }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a dependency is in an outage; shared by every request that calls it.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    failing: AtomicBool,
}

impl Outage {
    /// A dependency that is not (yet) failing.
    pub(crate) const fn new() -> Self {
        Self { failing: AtomicBool::new(false) }
    }

    /// Records a failure. True for the failure that starts an outage: log it at error level;
    /// false for the repeats (debug level at most). Exactly one of any number of concurrent
    /// first failures gets true.
    pub(crate) fn failed(&self) -> bool {
        !self.failing.swap(true, Ordering::AcqRel)
    }

    /// Records a success. True for the success that ends an outage: log it at info level.
    pub(crate) fn recovered(&self) -> bool {
        self.failing.swap(false, Ordering::AcqRel)
    }

    /// Whether the last call failed (cheap: one relaxed load, fit for the request path).
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_failure_of_an_outage_is_reported() {
        let outage = Outage::new();
        assert!(!outage.is_failing());
        assert!(outage.failed());
        assert!(!outage.failed());
        assert!(!outage.failed());
        assert!(outage.is_failing());
    }

    #[test]
    fn only_the_first_success_after_an_outage_is_reported() {
        let outage = Outage::new();
        assert!(!outage.recovered(), "no outage, nothing to report");
        outage.failed();
        assert!(outage.recovered());
        assert!(!outage.recovered());
        assert!(outage.failed(), "a new outage is reported again");
    }

    #[test]
    fn concurrent_first_failures_report_once() {
        let outage = std::sync::Arc::new(Outage::new());
        let reported: usize = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8).map(|_| scope.spawn(|| usize::from(outage.failed()))).collect();
            threads.into_iter().map(|thread| thread.join().unwrap()).sum()
        });
        assert_eq!(reported, 1);
    }
}
