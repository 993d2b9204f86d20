//! Micro benchmarks of each stage of the request pipeline, and of the whole guard through a
//! router against a bare axum router.
//!
//! Run: `cargo bench -p secure-api --bench pipeline` (add `-- <filter>` for one group, e.g.
//! `-- verify/`). BENCHMARKS.md at the repository root holds the figures.

#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::net::IpAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRequestParts;
// The guard is what `#[secure]` expands to; this bench times it alone, so it names the
// expansion's (unstable) path.
use axum::response::IntoResponse;
use criterion::{Criterion, criterion_group, criterion_main};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::__private::Guard;
use secure_api::audit::AuditLog;
use secure_api::auth::{ApiKeys, AuthScheme, JwtVerifier, TokenCache, VerificationKey};
use secure_api::routing::get;
use secure_api::{
    Principal, Problem, SecureRouter, Security, client::ClientIdentity, client::TrustedProxies, policy::Policy,
    policy::RoutePolicy, public, secure,
};
use serde_json::json;
use tower::ServiceExt;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const ISSUER: &str = "bench-issuer";
const AUDIENCE: &str = "items-api";
const API_KEY: &str = "bench-api-key-0123456789abcdef0123456789";

/// Runs a future that completes without waiting (the guard does no I/O) to its output, so the
/// figures hold no executor cost.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future waited"),
    }
}

struct Keys {
    es256_private: EncodingKey,
    es256_public: Vec<u8>,
    rs256_private: EncodingKey,
    rs256_public: Vec<u8>,
}

fn keys() -> Keys {
    let es = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let rs = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    Keys {
        es256_private: EncodingKey::from_ec_pem(es.serialize_pem().as_bytes()).unwrap(),
        es256_public: es.public_key_pem().into_bytes(),
        rs256_private: EncodingKey::from_rsa_pem(rs.serialize_pem().as_bytes()).unwrap(),
        rs256_public: rs.public_key_pem().into_bytes(),
    }
}

fn token(algorithm: Algorithm, key: &EncodingKey) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "bench-client", "client_id": "bench-client",
        "scope": "items:read items:write", "iat": now, "exp": now + 3600, "jti": "bench-1",
    });
    let mut header = Header::new(algorithm);
    header.typ = Some("at+jwt".to_owned());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn verifier(keys: &Keys) -> JwtVerifier {
    JwtVerifier::builder()
        .key(VerificationKey::hs256(SECRET).unwrap())
        .key(VerificationKey::ec_pem(Algorithm::ES256, &keys.es256_public).unwrap())
        .key(VerificationKey::rsa_pem(Algorithm::RS256, &keys.rs256_public).unwrap())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap()
}

fn security(keys: &Keys, cache: bool) -> Security {
    security_builder(keys, cache).build()
}

fn security_builder(keys: &Keys, cache: bool) -> secure_api::SecurityBuilder {
    let mut builder = Security::builder()
        .realm(AUDIENCE)
        .jwt(verifier(keys))
        .api_keys(ApiKeys::new().with_key(API_KEY, "reports", ["reports:read"]).unwrap());
    if cache {
        builder = builder.token_cache(TokenCache::default());
    }
    builder
}

fn parts(authorization: Option<&str>) -> Parts {
    let mut request = Request::get("/secured");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(()).unwrap().into_parts().0
}

struct Authenticated;
impl Policy for Authenticated {
    const POLICY: RoutePolicy = RoutePolicy::secured("bench::authenticated").with_auth(&[AuthScheme::Bearer]);
}

struct ItemsRead;
impl Policy for ItemsRead {
    const POLICY: RoutePolicy =
        RoutePolicy::secured("bench::items_read").with_auth(&[AuthScheme::Bearer]).with_scopes(&["items:read"]);
}

struct ApiKeyRoute;
impl Policy for ApiKeyRoute {
    const POLICY: RoutePolicy = RoutePolicy::secured("bench::api_key").with_auth(&[AuthScheme::ApiKey]);
}

fn client_identity(c: &mut Criterion) {
    let mut group = c.benchmark_group("client_identity");
    let peer: IpAddr = "10.0.0.1".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 10.0.0.2"));
    let none = TrustedProxies::none();
    let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
    group.bench_function("direct_peer", |b| {
        b.iter(|| ClientIdentity::resolve(black_box(Some(peer)), black_box(&headers), &none, false))
    });
    group.bench_function("via_trusted_proxy_xff", |b| {
        b.iter(|| ClientIdentity::resolve(black_box(Some(peer)), black_box(&headers), &trusted, false))
    });
    group.finish();
}

fn verification(c: &mut Criterion, keys: &Keys) {
    let mut group = c.benchmark_group("verify");
    let verifier = verifier(keys);
    let hs256 = token(Algorithm::HS256, &EncodingKey::from_secret(SECRET));
    let es256 = token(Algorithm::ES256, &keys.es256_private);
    let rs256 = token(Algorithm::RS256, &keys.rs256_private);
    for (name, token) in [("hs256", &hs256), ("es256", &es256), ("rs256", &rs256)] {
        group.bench_function(name, |b| b.iter(|| verifier.verify(black_box(token)).unwrap()));
    }
    let cache = TokenCache::default();
    for (name, token) in [("cache_hit_hs256", &hs256), ("cache_hit_es256", &es256)] {
        cache.verify(&verifier, token).unwrap();
        group.bench_function(name, |b| b.iter(|| cache.verify(&verifier, black_box(token)).unwrap()));
    }
    let api_keys = ApiKeys::new().with_key(API_KEY, "reports", ["reports:read"]).unwrap();
    group.bench_function("api_key", |b| b.iter(|| api_keys.verify(black_box(API_KEY.as_bytes())).unwrap()));
    group.finish();
}

fn scope_check(c: &mut Criterion) {
    let principal = Principal::new("bench-client", ["items:read", "items:write"], secure_api::auth::AuthScheme::Bearer);
    let required = ["items:read"];
    c.bench_function("scope/has_all_required", |b| {
        b.iter(|| black_box(&required).iter().all(|scope| black_box(&principal).has_scope(scope)))
    });
}

fn guard(c: &mut Criterion, keys: &Keys) {
    let mut group = c.benchmark_group("guard");
    let plain = security(keys, false);
    let cached = security(keys, true);
    let hs256 = format!("Bearer {}", token(Algorithm::HS256, &EncodingKey::from_secret(SECRET)));
    let es256 = format!("Bearer {}", token(Algorithm::ES256, &keys.es256_private));

    let mut request = parts(Some(&hs256));
    group.bench_function("bearer_hs256_parse_and_verify", |b| {
        b.iter(|| ready(Guard::<Authenticated>::from_request_parts(&mut request, &plain)).unwrap())
    });
    group.bench_function("bearer_hs256_verify_and_scope", |b| {
        b.iter(|| ready(Guard::<ItemsRead>::from_request_parts(&mut request, &plain)).unwrap())
    });
    group.bench_function("bearer_hs256_cached_and_scope", |b| {
        b.iter(|| ready(Guard::<ItemsRead>::from_request_parts(&mut request, &cached)).unwrap())
    });
    let mut request = parts(Some(&es256));
    group.bench_function("bearer_es256_cached_and_scope", |b| {
        b.iter(|| ready(Guard::<ItemsRead>::from_request_parts(&mut request, &cached)).unwrap())
    });
    let mut request = Request::get("/reports").header("x-api-key", API_KEY).body(()).unwrap().into_parts().0;
    group.bench_function("api_key", |b| {
        b.iter(|| ready(Guard::<ApiKeyRoute>::from_request_parts(&mut request, &plain)).unwrap())
    });
    let mut request = parts(None);
    group.bench_function("missing_credentials_rejection", |b| {
        b.iter(|| ready(Guard::<ItemsRead>::from_request_parts(&mut request, &plain)).unwrap_err())
    });
    group.finish();
}

fn problem(c: &mut Criterion) {
    let mut group = c.benchmark_group("problem");
    group.bench_function("render_401_with_challenge", |b| {
        b.iter(|| {
            Problem::new(StatusCode::UNAUTHORIZED, "invalid-credentials", "Unauthorized")
                .with_detail("The access token is not valid. The access token expired.")
                .with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"items-api\", error=\"invalid_token\""),
                )
                .into_response()
        })
    });
    group.bench_function("render_403_with_extension", |b| {
        b.iter(|| {
            Problem::new(StatusCode::FORBIDDEN, "insufficient-scope", "Forbidden")
                .with_detail("This request requires the scope `items:write`.")
                .with_extension("required_scope", "items:write")
                .into_response()
        })
    });
    group.finish();
}

#[public]
async fn public_item() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"id": 1, "name": "widget", "price": 9.5}))
}

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn secured_item() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"id": 1, "name": "widget", "price": 9.5}))
}

fn secure_router(security: Security) -> Router {
    // As a plain router, so one `send` drives both it and the bare axum router; the routes stay
    // inside the security layer.
    SecureRouter::new()
        .route("/bare", get(public_item))
        .route("/secured", get(secured_item))
        .with_state(security)
        .into_router_unchecked()
}

fn bare_router() -> Router {
    Router::new()
        .route("/axum", axum::routing::get(|| async { axum::Json(json!({"id": 1, "name": "widget", "price": 9.5})) }))
}

fn router(c: &mut Criterion, keys: &Keys) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let hs256 = format!("Bearer {}", token(Algorithm::HS256, &EncodingKey::from_secret(SECRET)));
    let es256 = format!("Bearer {}", token(Algorithm::ES256, &keys.es256_private));
    let bare = bare_router();
    let plain = secure_router(security(keys, false));
    let cached = secure_router(security(keys, true));
    let send = |app: &Router, path: &str, authorization: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let mut request = request.body(Body::empty()).unwrap();
        // What the server inserts on a real socket; the security layer refuses a request without it.
        request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 4000))));
        let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response
    };

    let mut group = c.benchmark_group("router");
    group.bench_function("bare_axum", |b| b.iter(|| send(&bare, "/axum", None)));
    group.bench_function("public", |b| b.iter(|| send(&plain, "/bare", None)));
    group.bench_function("secured_hs256", |b| b.iter(|| send(&plain, "/secured", Some(&hs256))));
    group.bench_function("secured_hs256_cached", |b| b.iter(|| send(&cached, "/secured", Some(&hs256))));
    group.bench_function("secured_es256_cached", |b| b.iter(|| send(&cached, "/secured", Some(&es256))));

    // The same with the audit line formatted by a `fmt` subscriber and handed to a
    // non-blocking writer (into a sink), as a deployed server does.
    let (writer, _guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::sink());
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(writer).finish();
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("public_audit_to_writer", |b| b.iter(|| send(&plain, "/bare", None)));
        group.bench_function("secured_hs256_cached_audit_to_writer", |b| {
            b.iter(|| send(&cached, "/secured", Some(&hs256)))
        });
    });
    // The same line as JSON (what `SECURE_API_LOG_FORMAT=json` selects in the quickstart).
    let (writer, _guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::sink());
    let subscriber = tracing_subscriber::fmt().json().flatten_event(true).with_writer(writer).finish();
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("secured_hs256_cached_audit_json_to_writer", |b| {
            b.iter(|| send(&cached, "/secured", Some(&hs256)))
        });
    });
    // The same line written by secure-api's AuditLog (JSON formatted without `core::fmt`,
    // written in batches by its own thread) into a sink.
    let audit_log = AuditLog::to_writer(std::io::sink()).unwrap();
    let with_audit_log = secure_router(
        security_builder(keys, true).audit(secure_api::audit::AuditConfig::new().log_to(audit_log)).build(),
    );
    group.bench_function("public_audit_log_to_writer", |b| b.iter(|| send(&with_audit_log, "/bare", None)));
    group.bench_function("secured_hs256_cached_audit_log_to_writer", |b| {
        b.iter(|| send(&with_audit_log, "/secured", Some(&hs256)))
    });
    // With Prometheus metrics counted on every response (`--features metrics`).
    #[cfg(feature = "metrics")]
    {
        let metrics = secure_api::metrics::Metrics::new();
        let with_metrics = secure_router(security_builder(keys, true).metrics(metrics).build());
        group.bench_function("secured_hs256_cached_metrics", |b| {
            b.iter(|| send(&with_metrics, "/secured", Some(&hs256)))
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let keys = keys();
    client_identity(c);
    verification(c, &keys);
    scope_check(c);
    guard(c, &keys);
    problem(c);
    router(c, &keys);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = pipeline
}
criterion_main!(benches);
