//! The quickstart's rate limits over real requests (in-memory store): `100/15m` per principal
//! on the items routes, `10/1m` per API key on reports, `10/1m` per client IP on the token
//! endpoint, the RateLimit fields, and failed authentication counted against the client IP.

use axum::body::Body;
use http::Request;
use serde_json::json;

use crate::common::{self, assert_problem, bearer, get, post_json, send, sign, token};
use crate::support::from_peer;

fn items(auth: &str, ip: &str) -> Request<Body> {
    from_peer(get("/api/items", &[("authorization", auth)]), ip)
}

#[tokio::test]
async fn items_allow_100_then_the_101st_is_429_with_retry_after() {
    let app = common::app();
    let auth = bearer(&token("items:read"));
    for n in 0..100u64 {
        let reply = send(&app, items(&auth, "192.0.2.10")).await;
        assert_eq!(reply.status, 200, "request {n}: {reply:?}");
        assert_eq!(reply.header("ratelimit-policy"), "\"100/15m\";q=100;w=900");
        // r counts down; t is when the whole quota is back: 9 s per request used.
        assert_eq!(reply.header("ratelimit"), format!("\"100/15m\";r={};t={}", 99 - n, 9 * (n + 1)));
    }
    let reply = send(&app, items(&auth, "192.0.2.10")).await;
    assert_problem(&reply, 429);
    // One request per 900 s / 100: the next one is allowed in 9 s, not earlier.
    assert_eq!(reply.header("retry-after"), "9");
    assert_eq!(reply.body["retry_after"], 9);
    assert_eq!(reply.header("ratelimit-policy"), "\"100/15m\";q=100;w=900");
    assert_eq!(reply.header("ratelimit"), "\"100/15m\";r=0;t=900");
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.body["type"], "urn:secure-api:problem:rate-limited");
}

#[tokio::test]
async fn each_route_and_each_principal_has_its_own_budget() {
    let app = common::app();
    let alice = bearer(&token("items:read items:write"));
    for _ in 0..100 {
        assert_eq!(send(&app, items(&alice, "192.0.2.10")).await.status, 200);
    }
    assert_eq!(send(&app, items(&alice, "192.0.2.10")).await.status, 429);

    // Other routes of the same principal are untouched.
    let created =
        send(&app, post_json("/api/items", &json!({"name": "pen", "price": 2.5}), &[("authorization", &alice)])).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.header("ratelimit"), "\"100/15m\";r=99;t=9");
    let one = send(&app, get("/api/items/1", &[("authorization", &alice)])).await;
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.header("ratelimit"), "\"100/15m\";r=99;t=9");

    // Another principal on the exhausted route is untouched, from the same IP too.
    let mut claims = common::claims("items:read");
    claims["sub"] = json!("bob");
    let bob = bearer(&sign(&claims));
    let reply = send(&app, items(&bob, "192.0.2.10")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("ratelimit"), "\"100/15m\";r=99;t=9");
}

#[tokio::test]
async fn failed_authentication_counts_against_the_client_ip() {
    let app = common::app();
    let forged = bearer(&common::sign_with(
        jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &common::claims("items:read"),
        b"not-the-secret-not-the-secret-not-the-secret",
    ));
    for n in 0..100 {
        let reply = send(&app, items(&forged, "203.0.113.7")).await;
        assert_eq!(reply.status, 401, "attempt {n}");
        // Every response of a limited route names its policy; only successes carry RateLimit.
        assert_eq!(reply.header("ratelimit-policy"), "\"100/15m\";q=100;w=900");
        assert_eq!(reply.header("ratelimit"), "");
    }
    let reply = send(&app, items(&forged, "203.0.113.7")).await;
    assert_problem(&reply, 429);
    assert_eq!(reply.header("retry-after"), "9");

    // From that IP even a valid token is refused now: the answer does not reveal whether a
    // guessed credential was right.
    let valid = bearer(&token("items:read"));
    assert_problem(&send(&app, items(&valid, "203.0.113.7")).await, 429);
    // Missing credentials count too.
    assert_problem(&send(&app, from_peer(get("/api/items", &[]), "203.0.113.7")).await, 429);
    // The same valid token from another client is fine, and was not charged by the refusal.
    let reply = send(&app, items(&valid, "203.0.113.8")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("ratelimit"), "\"100/15m\";r=99;t=9");
}

#[tokio::test]
async fn reports_allow_10_per_api_key() {
    let app = common::app();
    let config = common::config();
    let key = config.api_key.expose().as_str();
    for n in 0..10 {
        let reply = send(&app, get("/api/reports", &[("x-api-key", key)])).await;
        assert_eq!(reply.status, 200, "request {n}: {reply:?}");
        assert_eq!(reply.header("ratelimit-policy"), "\"10/1m\";q=10;w=60");
    }
    let reply = send(&app, get("/api/reports", &[("x-api-key", key)])).await;
    assert_problem(&reply, 429);
    assert_eq!(reply.header("retry-after"), "6");
}

fn token_request(ip: &str) -> Request<Body> {
    let config = common::config();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        config.client_id,
        config.client_secret.expose()
    );
    let request = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    from_peer(request, ip)
}

#[tokio::test]
async fn token_endpoint_allows_10_per_minute_per_client_ip() {
    let app = common::app();
    for n in 0..10 {
        let reply = send(&app, token_request("198.51.100.20")).await;
        assert_eq!(reply.status, 200, "request {n}: {reply:?}");
        assert_eq!(reply.header("ratelimit-policy"), "\"10/1m\";q=10;w=60");
        assert_eq!(reply.header("ratelimit"), format!("\"10/1m\";r={};t={}", 9 - n, 6 * (n + 1)));
    }
    let reply = send(&app, token_request("198.51.100.20")).await;
    assert_problem(&reply, 429);
    assert_eq!(reply.header("retry-after"), "6");
    assert_eq!(send(&app, token_request("198.51.100.21")).await.status, 200);
}

#[tokio::test]
async fn routing_404_and_405_never_reach_a_limiter() {
    let app = common::app();
    let auth = bearer(&token("items:read"));
    for _ in 0..150 {
        let missing = send(&app, get("/api/nothing-here", &[("authorization", &auth)])).await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.header("ratelimit-policy"), "");
        let wrong_method =
            send(&app, Request::delete("/api/items").header("authorization", &auth).body(Body::empty()).unwrap()).await;
        assert_eq!(wrong_method.status, 405);
        assert_eq!(wrong_method.header("ratelimit-policy"), "");
    }
    let reply = send(&app, get("/api/items", &[("authorization", &auth)])).await;
    assert_eq!(reply.header("ratelimit"), "\"100/15m\";r=99;t=9");
}

#[tokio::test]
async fn unlimited_routes_carry_no_rate_fields() {
    let app = common::app();
    let reply = send(&app, get("/health", &[])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("ratelimit-policy"), "");
    assert_eq!(reply.header("ratelimit"), "");
}
