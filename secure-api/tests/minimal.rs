//! The minimal app: HS256 bearer tokens, API keys, in-memory rate limits and validation,
//! served over plain HTTP. It needs none of the optional features (`redis`, `idp`, `tls`), and
//! CI builds and runs this file without them:
//!
//! ```text
//! cargo test -p secure-api --no-default-features --features testing --test minimal
//! ```
//!
//! (Under `cargo test --workspace` the same tests run with every feature on: the minimal app
//! must behave the same either way.) The crate's only integration-test binary.

#![cfg(feature = "testing")]
#![allow(missing_docs)]

use std::time::Duration;

use axum::Json;
use http::StatusCode;
use secure_api::auth::{ApiKeys, JwtVerifier, VerificationKey};
use secure_api::routing::{get, post};
use secure_api::testing::{TokenFactory, bearer, get as get_request, post_json, send};
use secure_api::{Principal, SecureRouter, Security, public, secure};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &[u8] = b"minimal-app-hs256-secret-of-32-bytes!!";
const ISSUER: &str = "https://minimal.example";
const AUDIENCE: &str = "items-api";
const API_KEY: &str = "minimal-app-api-key-0123456789abcdef";

/// A new item: unknown fields refused, each rule checked (422 listing every failing field).
#[secure_api::request]
#[derive(Debug)]
pub struct NewItem {
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    pub price: f64,
}

#[public]
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[secure(auth = "oauth", scopes = ["items:write"], rate = "3/1m", validate)]
async fn create_item(principal: Principal, Json(item): Json<NewItem>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({ "name": item.name, "price": item.price, "by": principal.id() })))
}

#[secure(auth = "api_key", rate = "10/1m", key = "api_key")]
async fn reports(principal: Principal) -> Json<Value> {
    Json(json!({ "client": principal.id() }))
}

fn security() -> Security {
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(SECRET).expect("a 32-byte HS256 key"))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("a valid verifier");
    let keys = ApiKeys::new().with_key(API_KEY, "reporting", ["reports:read"]).expect("a long enough key");
    // No `.rate_limits(...)`: in memory is the default, and the only store without `redis`.
    Security::builder().jwt(verifier).api_keys(keys).build()
}

// The app's type is never named: `with_state` returns whatever the framework serves.
macro_rules! app {
    () => {
        SecureRouter::new()
            .route("/health", get(health))
            .route("/api/items", post(create_item))
            .route("/api/reports", get(reports))
            .with_state(security())
    };
}

fn tokens() -> TokenFactory {
    TokenFactory::hs256(SECRET, ISSUER, AUDIENCE)
}

#[tokio::test]
async fn an_hs256_token_with_the_scope_creates_a_valid_item() {
    let app = app!();
    let token = bearer(&tokens().token(&["items:write"]));
    let reply =
        send(&app, post_json("/api/items", &json!({"name": "pen", "price": 2.5}), &[("authorization", &token)])).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["name"], "pen");
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn no_token_a_bad_token_and_a_missing_scope_are_refused() {
    let app = app!();
    let body = json!({"name": "pen", "price": 2.5});

    let reply = send(&app, post_json("/api/items", &body, &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    assert!(reply.header("www-authenticate").starts_with("Bearer"), "{:?}", reply.headers);

    let forged = TokenFactory::hs256(b"another-secret-another-secret-0123", ISSUER, AUDIENCE).token(&["items:write"]);
    let reply = send(&app, post_json("/api/items", &body, &[("authorization", &bearer(&forged))])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.header("www-authenticate").contains("invalid_token"), "{:?}", reply.headers);

    let read_only = bearer(&tokens().token(&["items:read"]));
    let reply = send(&app, post_json("/api/items", &body, &[("authorization", &read_only)])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.header("www-authenticate").contains("insufficient_scope"), "{:?}", reply.headers);
}

#[tokio::test]
async fn an_invalid_body_is_422_listing_every_failing_field() {
    let app = app!();
    let token = bearer(&tokens().token(&["items:write"]));
    let reply =
        send(&app, post_json("/api/items", &json!({"name": "", "price": -1}), &[("authorization", &token)])).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    let locations: Vec<&Value> =
        reply.body["errors"].as_array().expect("an errors array").iter().map(|e| &e["loc"]).collect();
    assert!(locations.contains(&&json!(["body", "name"])), "{locations:?}");
    assert!(locations.contains(&&json!(["body", "price"])), "{locations:?}");

    let reply = send(
        &app,
        post_json("/api/items", &json!({"name": "pen", "price": 1, "owner": "admin"}), &[("authorization", &token)]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {}", reply.text);
}

#[tokio::test]
async fn api_keys_are_checked() {
    let app = app!();
    let reply = send(&app, get_request("/api/reports", &[("x-api-key", API_KEY)])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["client"], "reporting");

    let reply = send(&app, get_request("/api/reports", &[("x-api-key", "wrong-key-wrong-key-wrong-key-0000")])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("content-type"), "application/problem+json");
}

#[tokio::test]
async fn the_in_memory_limiter_answers_429_after_the_quota() {
    let app = app!();
    let token = bearer(&tokens().token(&["items:write"]));
    let body = json!({"name": "pen", "price": 2.5});
    for attempt in 1..=3 {
        let reply = send(&app, post_json("/api/items", &body, &[("authorization", &token)])).await;
        assert_eq!(reply.status, StatusCode::CREATED, "request {attempt} of the quota of 3");
    }
    let reply = send(&app, post_json("/api/items", &body, &[("authorization", &token)])).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    let retry_after: u64 = reply.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

/// The minimal app over a real loopback socket with `secure_api::serve` (no TLS feature): a raw
/// HTTP/1.1 request gets the public route's answer with the security headers, and no HSTS
/// (plain HTTP).
#[tokio::test]
async fn served_over_a_loopback_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(secure_api::serve::serve_with_shutdown(listener, app!(), async {
        let _ = stopped.await;
    }));

    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange).await.expect("answered within 5 s");
    let lower = response.to_ascii_lowercase();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(lower.contains("x-content-type-options: nosniff"), "{response}");
    assert!(lower.contains("x-request-id: "), "{response}");
    assert!(!lower.contains("strict-transport-security"), "never HSTS over plain HTTP: {response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");

    let _ = stop.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await.expect("stopped within 5 s");
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
}
