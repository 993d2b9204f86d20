//! Ordinary axum composition around a finished app (issue 16): fallbacks, tower layers, merge,
//! nest, and serving with `axum::serve`. Every response stays inside the security layer (security
//! headers, a request id, one audit line, problem+json on errors), the route inventory names the
//! paths axum serves, and clients served by `axum::serve(listener, app)` keep distinct identities.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{Request, StatusCode};
use secure_api::auth::{JwtVerifier, VerificationKey};
use secure_api::routing::get;
use secure_api::{SecureApp, SecureRouter, Security, public, secure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::common::{self, assert_problem, send};

#[public]
async fn list_orders() -> &'static str {
    "orders"
}

#[public]
async fn health() -> &'static str {
    "ok"
}

#[public]
async fn slow() -> &'static str {
    // Bounded: the test's timeout layer answers long before this ends.
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

/// A user fallback answering with its own text (a status and a body with a content type).
#[public]
async fn custom_not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "custom: nothing here")
}

/// A fallback answering an error status without a body: the layer makes it problem+json.
#[public]
async fn gone() -> StatusCode {
    StatusCode::GONE
}

#[secure(auth = "oauth", rate = "3/1m")]
async fn limited() -> &'static str {
    "limited"
}

fn security() -> Security {
    Security::builder().build()
}

fn assert_secured(reply: &common::Reply) {
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "{reply:?}");
    assert!(!reply.header("x-request-id").is_empty(), "no request id: {reply:?}");
}

#[test]
fn user_fallbacks_answer_inside_the_security_layer() {
    common::run_alone("composition::user_fallbacks_answer_inside_the_security_layer_alone");
}

#[tokio::test]
#[ignore = "run in its own process by user_fallbacks_answer_inside_the_security_layer"]
async fn user_fallbacks_answer_inside_the_security_layer_alone() {
    let (captured, _guard) = common::capture_json();
    // On the router before `with_state`, and on the finished app.
    let before = SecureRouter::new().route("/health", get(health)).fallback(custom_not_found).with_state(security());
    let after = SecureRouter::new().route("/health", get(health)).with_state(security()).fallback(gone);

    let reply = send(&before, common::get("/nowhere", &[])).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (404, "custom: nothing here"));
    assert_secured(&reply);

    let reply = send(&after, common::get("/nowhere", &[])).await;
    assert_problem(&reply, 410);
    assert_secured(&reply);

    let lines = captured.audit_lines();
    assert_eq!(lines.len(), 2, "{}", captured.text());
    assert_eq!((lines[0]["path"].as_str(), lines[0]["status"].as_u64()), (Some("/nowhere"), Some(404)));
    assert_eq!((lines[1]["path"].as_str(), lines[1]["status"].as_u64()), (Some("/nowhere"), Some(410)));
    assert_eq!(lines[1]["request_id"].as_str(), Some(reply.header("x-request-id")));
}

#[tokio::test]
async fn without_a_user_fallback_unknown_paths_are_a_404_problem() {
    let app = SecureRouter::new().route("/health", get(health)).with_state(security());
    let reply = send(&app, common::get("/nowhere", &[])).await;
    assert_problem(&reply, 404);
    assert_secured(&reply);
    let reply = send(&app, common::post_json("/health", &serde_json::json!({}), &[])).await;
    assert_problem(&reply, 405);
}

#[test]
fn a_timeout_layer_answers_a_408_problem_with_headers_and_an_audit_line() {
    common::run_alone("composition::a_timeout_layer_answers_a_408_problem_with_headers_and_an_audit_line_alone");
}

#[tokio::test]
#[ignore = "run in its own process by a_timeout_layer_answers_a_408_problem_with_headers_and_an_audit_line"]
async fn a_timeout_layer_answers_a_408_problem_with_headers_and_an_audit_line_alone() {
    let (captured, _guard) = common::capture_json();
    let timeout = Duration::from_millis(200);
    let app = SecureRouter::new()
        .route("/slow", get(slow))
        .with_state(security())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout));

    let started = Instant::now();
    let reply = send(&app, common::get("/slow", &[])).await;
    assert!(started.elapsed() < timeout + Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_problem(&reply, 408);
    assert_secured(&reply);

    let lines = captured.audit_lines();
    assert_eq!(lines.len(), 1, "{}", captured.text());
    assert_eq!((lines[0]["route"].as_str(), lines[0]["status"].as_u64()), (Some("/slow"), Some(408)));
}

#[tokio::test]
async fn merging_two_finished_apps_with_fallbacks_serves_both_without_panic() {
    let orders = SecureRouter::new().route("/orders", get(list_orders)).fallback(custom_not_found);
    let health = SecureRouter::new().route("/health", get(health)).with_state(security()).fallback(gone);
    let app = orders.with_state(security()).merge(health);

    let paths: Vec<&str> = app.routes().iter().map(|route| route.path.as_str()).collect();
    assert_eq!(paths, ["/orders", "/health"]);
    for (path, body) in [("/orders", "orders"), ("/health", "ok")] {
        let reply = send(&app, common::get(path, &[])).await;
        assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, body));
        assert_secured(&reply);
    }
    // The app `merge` was called on keeps its fallback.
    let reply = send(&app, common::get("/nowhere", &[])).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (404, "custom: nothing here"));
    assert_secured(&reply);
}

#[tokio::test]
async fn nesting_records_the_paths_axum_serves() {
    let by_router = SecureRouter::new().nest("/orders", SecureRouter::new().route("/", get(list_orders)));
    let by_app = SecureRouter::new()
        .with_state(security())
        .nest("/orders", SecureRouter::new().route("/", get(list_orders)).with_state(security()));
    let by_router = by_router.with_state(security());
    for app in [by_router, by_app] {
        let paths: Vec<&str> = app.routes().iter().map(|route| route.path.as_str()).collect();
        assert_eq!(paths, ["/orders"]);
        // What axum 0.8 serves: the prefix itself, not the prefix with a trailing slash.
        let reply = send(&app, common::get("/orders", &[])).await;
        assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "orders"));
        let reply = send(&app, common::get("/orders/", &[])).await;
        assert_problem(&reply, 404);
        // The OpenAPI document names exactly the served path.
        let document = serde_json::to_value(secure_api::openapi::document("orders", "1", app.routes())).unwrap();
        let documented: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
        assert_eq!(documented, ["/orders"]);
    }
}

/// Servers clone the app for every request (hyper's service per request, `oneshot`): a clone
/// shares the route inventory instead of copying it, and composing a clone leaves the original
/// as it was.
#[tokio::test]
async fn a_clone_of_an_app_shares_its_inventory_and_composes_on_its_own() {
    let app = SecureRouter::new().route("/health", get(health)).with_state(security());
    let clone = app.clone();
    assert!(std::ptr::eq(app.routes(), clone.routes()), "a clone copied the route inventory");

    let grown = clone.merge(SecureRouter::new().route("/orders", get(list_orders)).with_state(security()));
    assert_eq!(grown.routes().len(), 2);
    assert_eq!(app.routes().len(), 1, "composing a clone changed the original");
    assert_eq!(send(&grown, common::get("/orders", &[])).await.status.as_u16(), 200);
    let reply = send(&app, common::get("/orders", &[])).await;
    assert_problem(&reply, 404);
    assert_eq!(send(&app, common::get("/health", &[])).await.status.as_u16(), 200);
}

#[tokio::test]
async fn a_nested_fallback_answers_under_its_prefix() {
    let orders = SecureRouter::new().route("/{id}", get(list_orders)).fallback(custom_not_found);
    let app = SecureRouter::new().route("/health", get(health)).nest("/orders", orders).with_state(security());
    let reply = send(&app, common::get("/orders/1/items", &[])).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (404, "custom: nothing here"));
    assert_secured(&reply);
    // Outside the prefix, the app's own (default) fallback.
    let reply = send(&app, common::get("/elsewhere", &[])).await;
    assert_problem(&reply, 404);
}

#[tokio::test]
async fn a_request_without_a_peer_address_is_refused_not_served_as_one_shared_client() {
    let app = SecureRouter::new().route("/health", get(health)).with_state(security());
    // `oneshot` straight on the app: no `ConnectInfo`.
    let request = Request::get("/health").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["type"], "urn:secure-api:problem:server-misconfigured");
    common::assert_no_internals(&body.to_string());
}

/// An app with one bearer route limited to 3 a minute per client.
fn limited_security() -> Security {
    let verifier = JwtVerifier::builder()
        .issuer("https://issuer.example")
        .audience("orders-api")
        .key(VerificationKey::hs256(b"composition-test-secret-of-32-bytes!").unwrap())
        .build()
        .unwrap();
    Security::builder().jwt(verifier).build()
}

fn limited_app() -> SecureApp {
    SecureRouter::new().route("/limited", get(limited)).with_state(limited_security())
}

/// Serves `make_service` on a free loopback port; the server task ends with the test's runtime.
async fn spawn<M>(serve: impl FnOnce(tokio::net::TcpListener) -> M) -> SocketAddr
where
    M: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener));
    addr
}

/// One HTTP/1.1 request over a socket bound to `from` (a loopback address); the status code.
async fn status_from(from: &str, server: SocketAddr, path: &str, authorization: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let exchange = async {
        let mut stream = socket.connect(server).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange).await.expect("the server answers");
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status line: {text}"))
}

#[tokio::test]
async fn axum_serve_keeps_two_clients_apart() {
    let app = limited_app();
    let server = spawn(|listener| async move { axum::serve(listener, app).await }).await;
    // Three garbage tokens from 127.0.0.2 use up that client's budget ...
    for _ in 0..3 {
        assert_eq!(status_from("127.0.0.2", server, "/limited", "Bearer garbage").await, 401);
    }
    assert_eq!(status_from("127.0.0.2", server, "/limited", "Bearer garbage").await, 429);
    // ... and not 127.0.0.1's: a different peer is a different identity.
    assert_eq!(status_from("127.0.0.1", server, "/limited", "Bearer garbage").await, 401);
}

#[tokio::test]
async fn serving_the_unchecked_router_without_the_peer_fails_closed() {
    // The old way: a plain router served without connection info. Every client would have been
    // 0.0.0.0; now every request is refused instead.
    let router = limited_app().into_router_unchecked();
    let server = spawn(|listener| async move { axum::serve(listener, router).await }).await;
    for _ in 0..4 {
        assert_eq!(status_from("127.0.0.2", server, "/limited", "Bearer garbage").await, 500);
    }
    assert_eq!(status_from("127.0.0.1", server, "/limited", "Bearer garbage").await, 500);
}

#[tokio::test]
async fn a_guarded_handler_on_a_hand_built_router_without_the_layer_is_refused() {
    // A `#[secure]` handler routed with plain axum (no `SecureRouter`, so no security layer),
    // served with the peer address: without the layer there would be no client identity, no
    // headers and no audit line, and every caller would share one rate-limit bucket. Before,
    // three garbage tokens from 127.0.0.2 made 127.0.0.1 get 429; now the guard refuses.
    let router = axum::Router::new().route("/limited", axum::routing::get(limited)).with_state(limited_security());
    let server = spawn(|listener| async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
    })
    .await;
    for _ in 0..4 {
        assert_eq!(status_from("127.0.0.2", server, "/limited", "Bearer garbage").await, 500);
    }
    assert_eq!(status_from("127.0.0.1", server, "/limited", "Bearer garbage").await, 500);
}

/// A layer added to the router or to the finished app wraps the user's fallback too, as axum's
/// `Router::layer` wraps its fallback: before, the paths no route matched were served without
/// the app's own layers (a body limit, an access check).
#[tokio::test]
async fn a_layer_wraps_the_user_fallback_too() {
    let marked = || {
        axum::middleware::map_response(|mut response: axum::response::Response| async move {
            response.headers_mut().insert("x-layered", http::HeaderValue::from_static("yes"));
            response
        })
    };
    let on_router = SecureRouter::new()
        .route("/health", get(health))
        .fallback(custom_not_found)
        .layer(marked())
        .with_state(security());
    let on_app =
        SecureRouter::new().route("/health", get(health)).with_state(security()).fallback(gone).layer(marked());
    for (app, status) in [(&on_router, 404), (&on_app, 410)] {
        let reply = send(app, common::get("/nowhere", &[])).await;
        assert_eq!(reply.status.as_u16(), status);
        assert_eq!(reply.header("x-layered"), "yes", "the fallback's answer went through the layer");
        assert_eq!(send(app, common::get("/health", &[])).await.header("x-layered"), "yes");
    }
}
