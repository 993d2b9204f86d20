//! Test helpers (feature `testing`): mint tokens an attacker would forge, send requests through
//! an app (a [`SecureApp`](crate::SecureApp), or any axum service) without a socket, and scan
//! every route against its declared policy ([`scan`]).
//!
//! Add the self-scan to your own tests in one line:
//!
//! ```no_run
//! # async fn demo(app: secure_api::SecureApp) {
//! use secure_api::testing::{ScanCredentials, TokenFactory, scan};
//!
//! let credentials = ScanCredentials::new(TokenFactory::hs256(b"test-secret", "https://issuer", "my-api"));
//! scan(app.routes(), &app, &credentials).await.assert_clean();
//! # }
//! ```
//!
//! This module is test code: it panics on misuse and [`ScanReport::assert_clean`] panics to fail
//! the calling test, so the crate's no-panic lints are relaxed here, explicitly.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

mod dpop;
mod scan;
mod tokens;

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::{Service, ServiceExt};

pub use dpop::DpopKey;
pub use jsonwebtoken::EncodingKey;
pub use scan::{Expected, Probe, ScanCredentials, ScanReport, ScanRow, Verdict, scan};
pub use tokens::TokenFactory;

/// A response, fully read: status, headers, the raw body text and the body as JSON
/// (`Value::Null` when it is not JSON).
///
/// # Examples
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use secure_api::testing::{get, send};
///
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
/// let reply = send(&app, get("/", &[])).await;
/// assert_eq!(reply.status, 200);
/// assert_eq!(reply.text, "hi");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON, or `Value::Null`.
    pub body: Value,
    /// The body as (lossy) UTF-8 text.
    pub text: String,
}

impl Reply {
    /// The header `name` as text, or `""` when absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
    }
}

/// Sends `request` to `app` (a [`SecureApp`](crate::SecureApp), an `axum::Router`, or any such
/// service) without a socket (`oneshot`) and reads the whole response.
///
/// The request gets a peer address (`ConnectInfo`, `127.0.0.1:40000`) unless it has one, as a
/// served app would see; use [`with_peer`] to choose it.
pub async fn send<A>(app: &A, mut request: Request<Body>) -> Reply
where
    A: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    if request.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    }
    let response = match app.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

/// Sets the request's peer address (what the framework reads the client IP from).
///
/// # Examples
/// ```
/// use secure_api::testing::{get, with_peer};
///
/// let request = with_peer(get("/", &[]), "10.0.0.7:5000".parse().unwrap());
/// assert!(request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().is_some());
/// ```
pub fn with_peer(mut request: Request<Body>, peer: SocketAddr) -> Request<Body> {
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// `GET path` with `headers`.
///
/// # Examples
/// ```
/// let request = secure_api::testing::get("/api/items", &[("authorization", "Bearer x")]);
/// assert_eq!(request.headers()["authorization"], "Bearer x");
/// ```
pub fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    request(http::Method::GET, path, headers, Body::empty())
}

/// `POST path` with a JSON body (`content-type: application/json`) and `headers`.
///
/// # Examples
/// ```
/// let request = secure_api::testing::post_json("/api/items", &serde_json::json!({"name": "a"}), &[]);
/// assert_eq!(request.headers()["content-type"], "application/json");
/// ```
pub fn post_json(path: &str, body: &Value, headers: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    request(http::Method::POST, path, &all, Body::from(body.to_string()))
}

/// Any request: `method path` with `headers` and `body`. Panics on an invalid method, path or
/// header (test code).
///
/// # Examples
/// ```
/// let request = secure_api::testing::request(http::Method::DELETE, "/api/items/1", &[], axum::body::Body::empty());
/// assert_eq!(request.method(), http::Method::DELETE);
/// ```
pub fn request(method: http::Method, path: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("a valid test request")
}

/// `Bearer <token>`, the `Authorization` header value.
///
/// # Examples
/// ```
/// assert_eq!(secure_api::testing::bearer("abc"), "Bearer abc");
/// ```
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
