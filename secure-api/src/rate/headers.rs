//! The IETF RateLimit fields, `Retry-After`, and the 429 problem.
//!
//! `RateLimit-Policy: "100/15m";q=100;w=900` goes on every response of a limited route,
//! `RateLimit: "100/15m";r=42;t=378` on successes and 429s (draft-ietf-httpapi-ratelimit-headers:
//! `q` quota units, `w` window seconds, `r` remaining units, `t` seconds until the full quota
//! is back). A 429 also carries `Retry-After` in whole seconds, rounded up so that a client that
//! waits exactly that long is never refused for being early.
//!
//! The guard cannot touch the handler's response, so it records its decision in a
//! [`RateSlot`] (a request extension the [`SecurityLayer`](crate::layer::SecurityLayer) creates); the
//! layer writes the fields once the response is known.

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};

use crate::audit::Outcome;
use crate::header_value::shared_header_value;
use crate::problem::Problem;
use crate::rate::RateDecision;
use crate::rate::spec::RateSpec;

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// A route's policy names and `RateLimit-Policy` value, built once per route.
///
/// A route with several limits lists every one in `RateLimit-Policy`
/// (`"10/1s";q=10;w=1, "1000/1h";q=1000;w=3600`, a structured-field list) and reports in
/// `RateLimit` the one the decision names: closest to exhaustion, or the refusing one.
#[derive(Clone, Debug)]
pub(crate) struct PolicyHeader {
    /// `"100/15m";r=` per limit, in declaration order — the start of a `RateLimit` value.
    limit_prefixes: Vec<String>,
    policy: HeaderValue,
}

impl PolicyHeader {
    pub(crate) fn new(specs: &[RateSpec]) -> Self {
        // The name is the canonical spec text: printable ASCII without `"` or `\`, so it is a
        // valid structured-field string as is, and it names no handler or module. The macro
        // refuses two equal rates on one route, so names are unique.
        let policy = specs
            .iter()
            .map(|spec| format!("\"{spec}\";q={};w={}", spec.count(), spec.window_secs()))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            limit_prefixes: specs.iter().map(|spec| format!("\"{spec}\";r=")).collect(),
            policy: HeaderValue::try_from(policy).unwrap_or_else(|_| HeaderValue::from_static("\"default\"")),
        }
    }

    /// The `RateLimit-Policy` value.
    pub(crate) fn policy(&self) -> &HeaderValue {
        &self.policy
    }

    /// The `RateLimit` value for one decision, about the limit it names.
    pub(crate) fn rate_limit(&self, decision: &RateDecision) -> HeaderValue {
        let prefix = self.limit_prefixes.get(decision.policy_index()).map_or("\"default\";r=", String::as_str);
        // `itoa` instead of `write!`, into the per-thread buffer: this runs on every
        // rate-limited request.
        let written = shared_header_value(prefix.len() + 3 + 2 * 20, |value| {
            value.extend_from_slice(prefix.as_bytes());
            value.extend_from_slice(itoa::Buffer::new().format(decision.remaining()).as_bytes());
            value.extend_from_slice(b";t=");
            value.extend_from_slice(itoa::Buffer::new().format(decision.reset_secs()).as_bytes());
        });
        written.unwrap_or_else(|| HeaderValue::from_static("\"default\";r=0"))
    }

    /// The 429 answer: problem+json (never cacheable, like every [`Problem`]) with
    /// `Retry-After` and both RateLimit fields.
    pub(crate) fn too_many_requests(&self, decision: &RateDecision) -> Problem {
        let retry_after = decision.retry_after_secs();
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too Many Requests")
            .with_detail(format!("Too many requests to this route; retry after {retry_after} seconds."))
            .with_extension("retry_after", retry_after)
            .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
            .with_header(RATELIMIT_POLICY, self.policy.clone())
            .with_header(RATELIMIT, self.rate_limit(decision))
            .with_outcome(Outcome::LIMITED)
    }
}

/// Where the guard leaves its rate decision for the layer; one per request, in its
/// [`RequestContext`](crate::context::RequestContext).
///
/// It keeps the route's [`PolicyHeader`] and the decision, not finished header values: the
/// `RateLimit` value is written once, straight into the response's header map, instead of
/// being written here and copied there.
#[derive(Default, Debug)]
pub(crate) struct RateSlot(OnceLock<Recorded>);

#[derive(Debug)]
struct Recorded {
    header: Arc<PolicyHeader>,
    decision: Option<RateDecision>,
}

impl RateSlot {
    /// Records the route's policy and, when a decision was made for this request, that
    /// decision. The first record wins.
    pub(crate) fn record(&self, header: &Arc<PolicyHeader>, decision: Option<&RateDecision>) {
        let _ = self.0.set(Recorded { header: Arc::clone(header), decision: decision.copied() });
    }

    /// Adds the recorded fields to the headers of a response with `status`: `RateLimit-Policy`
    /// always, `RateLimit` on successes, redirects and 429s. Replaces values already there: the
    /// layer adds these before the handler's own headers, which then win (a 429 carries its own).
    pub(crate) fn add_to(&self, headers: &mut HeaderMap, status: StatusCode) {
        let Some(recorded) = self.0.get() else {
            return;
        };
        headers.insert(RATELIMIT_POLICY, recorded.header.policy().clone());
        let wants_limit = status.as_u16() < 400 || status == StatusCode::TOO_MANY_REQUESTS;
        if let Some(decision) = &recorded.decision
            && wants_limit
        {
            headers.insert(RATELIMIT, recorded.header.rate_limit(decision));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn policy_and_limit_values() {
        let header = PolicyHeader::new(&[RateSpec::new(100, 900)]);
        assert_eq!(header.policy(), "\"100/15m\";q=100;w=900");
        let decision = RateDecision::allow(99, Duration::from_millis(8_500));
        assert_eq!(header.rate_limit(&decision), "\"100/15m\";r=99;t=9");
    }

    #[test]
    fn too_many_requests_rounds_retry_after_up() {
        let header = PolicyHeader::new(&[RateSpec::new(10, 60)]);
        let decision = RateDecision::deny(Duration::from_millis(5_001), Duration::from_secs(59));
        let response = header.too_many_requests(&decision).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "6");
        assert_eq!(response.headers()[RATELIMIT], "\"10/1m\";r=0;t=59");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn slot_adds_limit_only_to_successes_and_429() {
        let header = Arc::new(PolicyHeader::new(&[RateSpec::new(10, 60)]));
        let slot = RateSlot::default();
        slot.record(&header, Some(&RateDecision::allow(9, Duration::from_secs(6))));
        let mut ok = HeaderMap::new();
        slot.add_to(&mut ok, StatusCode::OK);
        assert_eq!(ok[RATELIMIT], "\"10/1m\";r=9;t=6");
        let mut limited = HeaderMap::new();
        slot.add_to(&mut limited, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited[RATELIMIT], "\"10/1m\";r=9;t=6");
        let mut forbidden = HeaderMap::new();
        slot.add_to(&mut forbidden, StatusCode::FORBIDDEN);
        assert!(forbidden.get(RATELIMIT).is_none());
        assert_eq!(forbidden[RATELIMIT_POLICY], "\"10/1m\";q=10;w=60");
    }

    #[test]
    fn several_limits_are_all_listed_and_the_named_one_reported() {
        let header = PolicyHeader::new(&[RateSpec::new(10, 1), RateSpec::new(1000, 3600)]);
        assert_eq!(header.policy(), "\"10/1s\";q=10;w=1, \"1000/1h\";q=1000;w=3600");
        let second = RateDecision::allow(5, Duration::from_secs(18)).for_policy(1);
        assert_eq!(header.rate_limit(&second), "\"1000/1h\";r=5;t=18");
        let first = RateDecision::allow(9, Duration::from_millis(100));
        assert_eq!(header.rate_limit(&first), "\"10/1s\";r=9;t=1");
    }
}
