//! `baseline_server`'s routes: the same API written the way a user secures axum today without
//! secure-api. Benchmark code only; the framework never depends on it.
//!
//! - authentication and the scope check: an axum `from_fn` middleware calling `jsonwebtoken`
//!   (the workspace's `aws_lc_rs` backend), one `DecodingKey` + `Validation` per algorithm;
//! - rate limiting: `tower_governor` keyed by the peer IP, with the bench's huge quota;
//! - validation: `validator`'s derive on the body type, checked in the handler;
//! - an access log line per request written through the same non-blocking file writer, and the
//!   same security headers secure-api adds, so both servers do the same work per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;
use validator::Validate;

use crate::Item;
use crate::settings::Settings;

/// The claims the baseline reads from a verified token.
#[derive(Clone, Debug, Deserialize)]
pub struct Claims {
    /// The caller.
    pub sub: String,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
}

/// The body of `POST /secured` with `validator` rules like the quickstart's item.
#[derive(Clone, Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    /// 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Greater than 0, at most 1 000 000.
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    pub price: f64,
}

/// One algorithm's key and validation rules, built once at start-up.
#[derive(Clone)]
pub struct AuthConfig {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl AuthConfig {
    fn new(algorithm: Algorithm, key: DecodingKey, settings: &Settings) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.leeway = 60;
        Self { key: Arc::new(key), validation: Arc::new(validation) }
    }
}

/// The authenticated subject, passed from the auth middleware to the access log.
#[derive(Clone, Debug)]
struct Subject(String);

fn unauthorized(error: &str) -> Response {
    let challenge = HeaderValue::from_static("Bearer realm=\"items-api\", error=\"invalid_token\"");
    let mut response = (StatusCode::UNAUTHORIZED, Json(json!({"error": error}))).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    response
}

/// Verifies the bearer token and requires the `items:read` scope.
async fn require_items_read(State(auth): State<AuthConfig>, mut request: Request, next: Next) -> Response {
    let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return unauthorized("missing_token");
    };
    let claims = match jsonwebtoken::decode::<Claims>(token, &auth.key, &auth.validation) {
        Ok(data) => data.claims,
        Err(_) => return unauthorized("invalid_token"),
    };
    if !claims.scope.split_ascii_whitespace().any(|scope| scope == "items:read") {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "insufficient_scope"}))).into_response();
    }
    let subject = Subject(claims.sub.clone());
    request.extensions_mut().insert(claims);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(subject);
    response
}

/// One access-log line per request and the security headers.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let client_ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    let principal = response.extensions().get::<Subject>().map_or("-", |subject| subject.0.as_str());
    tracing::info!(
        target: "baseline::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        client_ip = ?client_ip,
        principal,
        "request"
    );
    response
}

async fn bare() -> Json<Item> {
    Json(Item::sample())
}

async fn secured() -> Json<Item> {
    Json(Item::sample())
}

async fn create(Json(item): Json<NewItem>) -> Response {
    if let Err(errors) = item.validate() {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"errors": errors}))).into_response();
    }
    (StatusCode::CREATED, Json(Item { id: 2, name: item.name, price: item.price })).into_response()
}

/// The whole baseline app; `Err` when a key is not usable.
pub fn app(settings: &Settings) -> Result<Router, String> {
    let hs256 = AuthConfig::new(Algorithm::HS256, DecodingKey::from_secret(settings.jwt_secret.as_bytes()), settings);
    let governor = Arc::new(
        GovernorConfigBuilder::default()
            .per_nanosecond(1)
            .burst_size(1_000_000_000)
            .key_extractor(PeerIpKeyExtractor)
            .finish()
            .ok_or("the rate limit configuration is invalid")?,
    );
    let mut secured_routes = Router::new()
        .route("/secured", get(secured).post(create))
        .route_layer(middleware::from_fn_with_state(hs256, require_items_read));
    if let Some(pem) = settings.es256_public_pem()? {
        let key = DecodingKey::from_ec_pem(&pem).map_err(|error| format!("ES256 public key: {error}"))?;
        let es256 = AuthConfig::new(Algorithm::ES256, key, settings);
        secured_routes = secured_routes.merge(
            Router::new()
                .route("/secured-es256", get(secured))
                .route_layer(middleware::from_fn_with_state(es256, require_items_read)),
        );
    }
    let app = Router::new()
        .route("/bare", get(bare))
        .merge(secured_routes.route_layer(GovernorLayer::new(governor)))
        .layer(middleware::from_fn(access_log));
    Ok(app.merge(crate::bare::router()))
}
