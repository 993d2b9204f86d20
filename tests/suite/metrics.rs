//! Prometheus metrics on real requests: every response is counted by route pattern, method and
//! status, rejections by reason, latency per route; the metrics route is an ordinary annotated
//! handler behind an API key, and an app without metrics fails closed there.

use http::{Method, Request};
use secure_api::SecureApp;
use secure_api::auth::ApiKeys;
use secure_api::metrics::{CONTENT_TYPE, Metrics, MetricsText};
use secure_api::{SecureRouter, Security, routing, secure};

use crate::common::*;

const METRICS_KEY: &str = "metrics-scraper-key-0123456789abcdef";

#[secure(auth = "oauth", scopes = ["items:read"], validate)]
async fn item(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    id.to_string()
}

#[secure(auth = "api_key", scopes = ["metrics:read"])]
async fn serve_metrics(metrics: Metrics) -> MetricsText {
    metrics.render()
}

/// The quickstart's keys and token rules, an API key for the scraper, and `metrics` if given.
fn app_with(metrics: Option<Metrics>) -> SecureApp {
    let config = config();
    let verifier = crate::common::config_verifier();
    let keys = ApiKeys::new().with_key(METRICS_KEY, "prometheus", ["metrics:read"]).unwrap();
    let builder = Security::builder().realm(config.audience.clone()).jwt(verifier).api_keys(keys);
    let security = match metrics {
        Some(metrics) => builder.metrics(metrics),
        None => builder,
    }
    .build();
    SecureRouter::new()
        .route("/items/{id}", routing::get(item))
        .route("/metrics", routing::get(serve_metrics))
        .with_state(security)
}

async fn scrape(app: &SecureApp) -> Reply {
    send(app, get("/metrics", &[("x-api-key", METRICS_KEY)])).await
}

fn assert_has(text: &str, line: &str) {
    assert!(text.lines().any(|have| have == line), "missing `{line}` in:\n{text}");
}

#[tokio::test]
async fn every_response_is_counted_by_route_pattern_and_rejections_by_reason() {
    let app = app_with(Some(Metrics::new()));
    let good = bearer(&token("items:read"));
    assert_eq!(send(&app, get("/items/7", &[("authorization", &good)])).await.status, 200);
    assert_eq!(send(&app, get("/items/8", &[("authorization", &good)])).await.status, 200);
    assert_problem(&send(&app, get("/items/9", &[])).await, 401);
    assert_problem(&send(&app, get("/items/9", &[("authorization", &bearer(&token("other:scope")))])).await, 403);
    assert_problem(&send(&app, get("/items/abc", &[("authorization", &good)])).await, 422);
    assert_problem(&send(&app, get("/no/such/path-4711", &[])).await, 404);
    let purge = Request::builder().method(Method::from_bytes(b"PURGE").unwrap()).uri("/items/7");
    assert_problem(&send(&app, purge.body(axum::body::Body::empty()).unwrap()).await, 405);

    let reply = scrape(&app).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), CONTENT_TYPE);
    let text = &reply.text;
    assert_has(text, r#"secure_api_requests_total{route="/items/{id}",method="GET",status="200"} 2"#);
    assert_has(text, r#"secure_api_requests_total{route="/items/{id}",method="GET",status="401"} 1"#);
    assert_has(text, r#"secure_api_requests_total{route="/items/{id}",method="GET",status="403"} 1"#);
    assert_has(text, r#"secure_api_requests_total{route="/items/{id}",method="GET",status="422"} 1"#);
    assert_has(text, r#"secure_api_requests_total{route="-",method="GET",status="404"} 1"#);
    assert_has(text, r#"secure_api_rejections_total{route="/items/{id}",reason="denied:missing_credentials"} 1"#);
    assert_has(text, r#"secure_api_rejections_total{route="/items/{id}",reason="denied:insufficient_scope"} 1"#);
    assert_has(text, r#"secure_api_rejections_total{route="/items/{id}",reason="invalid:body"} 1"#);
    assert_has(text, r#"secure_api_rejections_total{route="-",reason="not_found"} 1"#);
    // The path matched a route, the method did not: the route's pattern, the method as `OTHER`.
    assert_has(text, r#"secure_api_requests_total{route="/items/{id}",method="OTHER",status="405"} 1"#);
    assert_has(text, r#"secure_api_rejections_total{route="/items/{id}",reason="method_not_allowed"} 1"#);
    assert_has(text, r#"secure_api_request_duration_seconds_count{route="/items/{id}"} 6"#);
    assert_has(text, r#"secure_api_request_duration_seconds_count{route="-"} 1"#);
    // Bounded labels: neither the raw path nor the client's method becomes a series.
    for absent in ["/no/such/path-4711", "/items/7", "PURGE"] {
        assert!(!text.contains(absent), "`{absent}` became a label:\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");

    // The scrape itself is counted on the next one.
    let again = scrape(&app).await.text;
    assert_has(&again, r#"secure_api_requests_total{route="/metrics",method="GET",status="200"} 1"#);
}

#[tokio::test]
async fn the_metrics_route_is_behind_its_policy() {
    let app = app_with(Some(Metrics::new()));
    assert_problem(&send(&app, get("/metrics", &[])).await, 401);
    assert_problem(&send(&app, get("/metrics", &[("x-api-key", "not-the-key-0123456789abcdefghij")])).await, 401);
    let scraped = scrape(&app).await;
    assert_eq!(scraped.status, 200);
    assert_has(&scraped.text, r#"secure_api_rejections_total{route="/metrics",reason="denied:missing_credentials"} 1"#);
}

#[tokio::test]
async fn without_metrics_configured_the_route_fails_closed() {
    let app = app_with(None);
    let reply = scrape(&app).await;
    assert_problem(&reply, 500);
    assert!(!reply.text.contains("secure_api_requests"), "{reply:?}");
}

#[tokio::test]
async fn clones_of_one_metrics_count_together() {
    let metrics = Metrics::new();
    let app = app_with(Some(metrics.clone()));
    assert_eq!(send(&app, get("/items/1", &[("authorization", &bearer(&token("items:read")))])).await.status, 200);
    assert!(
        metrics
            .render()
            .into_string()
            .contains(r#"secure_api_requests_total{route="/items/{id}",method="GET",status="200"} 1"#),
        "the handle the app was built with sees its requests"
    );
}
