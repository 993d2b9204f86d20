//! Security headers on every response (success, rejection, 404), nothing that names the
//! server software, HSTS only over HTTPS, and CORS closed unless configured.

use axum::body::Body;
use http::{Method, Request};
use secure_api::routing::get;
use secure_api::{SecureRouter, Security, cors::CorsPolicy, headers::SecurityHeaders, public};

use crate::common::{self, bearer, send};

#[tokio::test]
async fn defaults_on_every_kind_of_response() {
    let app = common::app();
    let token = bearer(&common::token("items:read"));
    for request in [
        common::get("/health", &[]),
        common::get("/api/items", &[("authorization", &token)]),
        common::get("/api/items", &[]),
        common::get("/no-such-route", &[]),
        common::get("/api/items?q=%3Cscript%3E", &[]),
    ] {
        let reply = send(&app, request).await;
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{reply:?}");
        assert_eq!(reply.header("referrer-policy"), "no-referrer");
        assert_eq!(reply.header("x-frame-options"), "DENY");
        assert_eq!(reply.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
        assert_eq!(reply.header("cache-control"), "no-store");
        assert!(reply.headers.get("strict-transport-security").is_none(), "plain HTTP: no HSTS");
        assert!(reply.headers.get("server").is_none() && reply.headers.get("x-powered-by").is_none());
        assert_eq!(reply.header("x-request-id").len(), 36);
        assert!(reply.headers.get("access-control-allow-origin").is_none(), "CORS is closed by default");
    }
}

#[public]
async fn leaky() -> ([(&'static str, &'static str); 3], &'static str) {
    ([("server", "nginx/1.0"), ("x-powered-by", "PHP/5"), ("strict-transport-security", "max-age=1")], "hi")
}

#[tokio::test]
async fn handler_headers_that_reveal_software_or_fake_hsts_are_removed() {
    let app = SecureRouter::new().route("/", get(leaky)).with_state(Security::builder().build());
    let reply = send(&app, common::get("/", &[])).await;
    assert!(reply.headers.get("server").is_none());
    assert!(reply.headers.get("x-powered-by").is_none());
    assert!(reply.headers.get("strict-transport-security").is_none());
}

#[tokio::test]
async fn configured_hsts_and_headers() {
    let headers = SecurityHeaders::default().hsts(600, false, true).remove(&http::header::CONTENT_SECURITY_POLICY);
    let security = Security::builder()
        .headers(headers)
        .trusted_proxies(secure_api::client::TrustedProxies::parse("10.0.0.1/32").unwrap())
        .build();
    let app = SecureRouter::new().route("/", get(leaky)).with_state(security);
    // The peer is a trusted proxy, so its X-Forwarded-Proto counts.
    let request = secure_api::testing::with_peer(
        common::get("/", &[("x-forwarded-proto", "https")]),
        "10.0.0.1:5000".parse().unwrap(),
    );
    let reply = send(&app, request).await;
    assert_eq!(reply.header("strict-transport-security"), "max-age=600; preload");
    assert!(reply.headers.get("content-security-policy").is_none());
}

fn cors_app() -> secure_api::SecureApp {
    let cors = CorsPolicy::allow_origins(["https://app.example.com"]).unwrap().allow_methods([Method::GET]);
    let security = Security::builder().cors(cors).build();
    SecureRouter::new().route("/", get(leaky)).with_state(security)
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/")
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_allows_only_the_configured_origin() {
    let app = cors_app();
    let reply = send(&app, preflight("https://app.example.com")).await;
    assert_eq!(reply.header("access-control-allow-origin"), "https://app.example.com");
    assert!(reply.header("access-control-allow-methods").contains("GET"));
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "preflights get the headers too");

    let reply = send(&app, preflight("https://evil.example")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    let reply = send(&app, common::get("/", &[("origin", "https://evil.example")])).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
    let reply = send(&app, common::get("/", &[("origin", "https://app.example.com")])).await;
    assert_eq!(reply.header("access-control-allow-origin"), "https://app.example.com");
    assert!(reply.headers.get("access-control-allow-credentials").is_none());

    // Without a policy a preflight gets no approval.
    let reply = send(&common::app(), preflight("https://app.example.com")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}
