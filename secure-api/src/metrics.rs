//! Prometheus metrics of every request the [`SecurityLayer`](crate::layer::SecurityLayer) sees:
//! requests by route, method and status, rejections by reason, and latency per route.
//!
//! Turned on with [`SecurityBuilder::metrics`](crate::SecurityBuilder::metrics) (feature
//! `metrics`); read on a route the application mounts, under a policy of its choosing (an API
//! key, an IP allow-list), since the route names, status counts and reasons tell an attacker
//! what the API has and what it refuses. The series are exposed in the OpenMetrics text format,
//! which Prometheus scrapes:
//!
//! | series | labels | meaning |
//! |---|---|---|
//! | `secure_api_requests_total` | `route`, `method`, `status` | every response, including rejections, 404s and 405s |
//! | `secure_api_rejections_total` | `route`, `reason` | responses whose [`Outcome`] is not `allowed`; `reason` is the audit line's outcome (`denied:invalid_token`, `limited`, `invalid:body`, ...) |
//! | `secure_api_request_duration_seconds` | `route` | histogram of the time from the request to the response head |
//!
//! Every label has a bounded set of values, so a client cannot grow the number of series:
//! `route` is the matched route pattern (`/api/items/{id}`, never the path; `-` when no route
//! matched), `method` is one of the nine standard methods or `OTHER`, `status` a status code,
//! `reason` an outcome code of the application's own.
//!
//! # Examples
//! ```
//! use secure_api::auth::ApiKeys;
//! use secure_api::metrics::{Metrics, MetricsText};
//! use secure_api::{Security, SecureRouter, routing::get, secure};
//!
//! // Only the monitoring system's key may read them.
//! #[secure(auth = "api_key", scopes = ["metrics:read"])]
//! async fn metrics(metrics: Metrics) -> MetricsText {
//!     metrics.render()
//! }
//!
//! let scraper = ApiKeys::new().with_key("a-long-random-key-for-the-scraper-0123456789", "prometheus", ["metrics:read"])?;
//! let security = Security::builder().api_keys(scraper).metrics(Metrics::new()).build();
//! let app = SecureRouter::new().route("/metrics", get(metrics)).with_state(security);
//! # Ok::<(), secure_api::ConfigError>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::audit::Outcome;

/// The exposition's media type (OpenMetrics 1.0 text, which Prometheus asks for first).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the latency histogram's buckets, in seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The request metrics of one application; see the [module docs](self) for the series.
/// Cheap to clone: clones count into the same series.
///
/// Also an extractor (in a handler of an app whose [`Security`](crate::Security) has metrics;
/// the extractor is with `Security`, which holds the metrics), so the route that
/// serves them is an ordinary annotated handler. Without metrics configured it answers 500 and
/// logs why.
///
/// # Examples
/// ```
/// use secure_api::metrics::Metrics;
///
/// let metrics = Metrics::new();
/// // Before the first request: no series yet, only the exposition's end marker.
/// assert_eq!(metrics.render().into_string(), "# EOF\n");
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    route: Arc<str>,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Empty series, registered under the `secure_api` prefix.
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let rejections = Family::<RejectionLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        let mut registry = Registry::with_prefix("secure_api");
        registry.register("requests", "Responses by route pattern, method and status", requests.clone());
        registry.register(
            "rejections",
            "Responses whose outcome is not `allowed`, by route pattern and reason",
            rejections.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time from the request to the response head, by route pattern",
            Unit::Seconds,
            latency.clone(),
        );
        Self { inner: Arc::new(Inner { registry, requests, rejections, latency }) }
    }

    /// Counts one response (called by the security layer once per request).
    pub(crate) fn record(
        &self,
        route: Option<&str>,
        method: &Method,
        status: StatusCode,
        outcome: Outcome,
        latency: Duration,
    ) {
        // One allocation for the three label sets (a family copies a key only for a new series).
        let route: Arc<str> = Arc::from(route.unwrap_or("-"));
        let inner = &self.inner;
        let request = RequestLabels { route: route.clone(), method: method_label(method), status: status.as_u16() };
        inner.requests.get_or_create(&request).inc();
        if outcome != Outcome::ALLOWED {
            inner.rejections.get_or_create(&RejectionLabels { route: route.clone(), reason: outcome.as_str() }).inc();
        }
        inner.latency.get_or_create(&RouteLabels { route }).observe(latency.as_secs_f64());
    }

    /// The series as OpenMetrics text, ready to be a handler's response.
    pub fn render(&self) -> MetricsText {
        let mut text = String::new();
        // Writing into a `String` cannot fail; a label value the encoder refused would only
        // cut the exposition short, which Prometheus reports as a failed scrape.
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry) {
            tracing::error!(target: "secure_api::metrics", %error, "encoding the metrics failed");
        }
        MetricsText(text)
    }
}

/// The method as a label value: the standard methods by name, anything else as `OTHER` (a
/// client can send any token as a method; each would otherwise become a new series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The metrics exposition: `200` with the OpenMetrics media type ([`CONTENT_TYPE`]).
///
/// # Examples
/// ```
/// use axum::response::IntoResponse;
/// use secure_api::metrics::{CONTENT_TYPE, Metrics};
///
/// let response = Metrics::new().render().into_response();
/// assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
/// ```
#[derive(Clone, Debug)]
pub struct MetricsText(String);

impl MetricsText {
    /// The exposition text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl IntoResponse for MetricsText {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(metrics: &Metrics, route: Option<&str>, method: Method, status: u16, outcome: Outcome, micros: u64) {
        let status = StatusCode::from_u16(status).unwrap();
        metrics.record(route, &method, status, outcome, Duration::from_micros(micros));
    }

    #[test]
    fn counts_requests_rejections_and_latency_per_route() {
        let metrics = Metrics::new();
        record(&metrics, Some("/items/{id}"), Method::GET, 200, Outcome::ALLOWED, 300);
        record(&metrics, Some("/items/{id}"), Method::GET, 200, Outcome::ALLOWED, 7_000);
        record(&metrics, Some("/items/{id}"), Method::GET, 401, Outcome::DENIED_INVALID_TOKEN, 50);
        record(&metrics, None, Method::GET, 404, Outcome::NOT_FOUND, 20);
        let text = metrics.render().into_string();
        for line in [
            r#"secure_api_requests_total{route="/items/{id}",method="GET",status="200"} 2"#,
            r#"secure_api_requests_total{route="/items/{id}",method="GET",status="401"} 1"#,
            r#"secure_api_requests_total{route="-",method="GET",status="404"} 1"#,
            r#"secure_api_rejections_total{route="/items/{id}",reason="denied:invalid_token"} 1"#,
            r#"secure_api_rejections_total{route="-",reason="not_found"} 1"#,
            r#"secure_api_request_duration_seconds_count{route="/items/{id}"} 3"#,
            r#"secure_api_request_duration_seconds_bucket{le="0.0001",route="/items/{id}"} 1"#,
            r#"secure_api_request_duration_seconds_bucket{le="0.0005",route="/items/{id}"} 2"#,
            r#"secure_api_request_duration_seconds_bucket{le="0.01",route="/items/{id}"} 3"#,
        ] {
            assert!(text.lines().any(|have| have == line), "missing `{line}` in:\n{text}");
        }
        assert!(!text.contains(r#"reason="allowed""#), "allowed responses are not rejections:\n{text}");
    }

    #[test]
    fn methods_outside_the_standard_nine_share_one_label() {
        let metrics = Metrics::new();
        for method in ["PURGE", "X-ANYTHING", "BREW"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            record(&metrics, None, method, 405, Outcome::METHOD_NOT_ALLOWED, 10);
        }
        let text = metrics.render().into_string();
        assert!(text.contains(r#"secure_api_requests_total{route="-",method="OTHER",status="405"} 3"#), "{text}");
        assert!(!text.contains("PURGE") && !text.contains("BREW"), "{text}");
    }

    #[test]
    fn a_route_pattern_with_quotes_stays_inside_its_label() {
        let metrics = Metrics::new();
        record(&metrics, Some("/a\"b\\c\nd"), Method::GET, 200, Outcome::ALLOWED, 10);
        let text = metrics.render().into_string();
        assert!(text.contains(r#"route="/a\"b\\c\nd""#), "{text}");
        assert_eq!(text.lines().filter(|line| line.starts_with("d\"")).count(), 0, "{text}");
    }
}
