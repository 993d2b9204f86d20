//! Both benchmark apps answer the load script's requests as intended: a figure measured on a
//! server that answers 401 to everything would be worthless.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::settings::Settings;

const SECRET: &str = "bench-secret-bench-secret-bench-secret!!";

struct Fixture {
    settings: Settings,
    es256_private: EncodingKey,
    _dir: TempDir,
}

/// A directory removed on drop, for the ES256 public key file.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("secure-api-bench-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let public = dir.join("es256-public.pem");
    std::fs::write(&public, pair.public_key_pem()).unwrap();
    let public = public.to_string_lossy().into_owned();
    let audit_log = dir.join("audit.log").to_string_lossy().into_owned();
    let settings = Settings::from_lookup(|variable| match variable {
        "SECURE_API_JWT_SECRET" => Some(SECRET.to_owned()),
        "SECURE_API_ES256_PUBLIC_KEY" => Some(public.clone()),
        "BENCH_AUDIT_LOG" => Some(audit_log.clone()),
        _ => None,
    })
    .unwrap();
    let es256_private = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    Fixture { settings, es256_private, _dir: TempDir(dir) }
}

fn token(settings: &Settings, algorithm: Algorithm, key: &EncodingKey, scope: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": settings.issuer, "aud": settings.audience, "sub": "bench-client",
        "scope": scope, "iat": now, "exp": now + 600,
    });
    jsonwebtoken::encode(&Header::new(algorithm), &claims, key).unwrap()
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let mut request = request.body(body).unwrap();
    // What `into_make_service_with_connect_info` adds on a real socket (the baseline's
    // rate limiter keys on it).
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Every route the load script drives, with the answers it expects.
async fn answers_like_the_load_script_expects(app: Router, fixture: &Fixture) {
    let settings = &fixture.settings;
    let hs256 = token(settings, Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), "items:read");
    let es256 = token(settings, Algorithm::ES256, &fixture.es256_private, "items:read");
    let item = json!({"id": 1, "name": "widget", "price": 9.5});
    let new_item = json!({"name": "widget", "price": 9.5});

    assert_eq!(send(&app, "GET", "/axum", None, None).await, (StatusCode::OK, item.clone()));
    assert_eq!(send(&app, "POST", "/axum", None, Some(new_item.clone())).await.0, StatusCode::CREATED);
    assert_eq!(send(&app, "GET", "/bare", None, None).await, (StatusCode::OK, item.clone()));
    for _ in 0..2 {
        assert_eq!(send(&app, "GET", "/secured", Some(&hs256), None).await, (StatusCode::OK, item.clone()));
        assert_eq!(send(&app, "GET", "/secured-es256", Some(&es256), None).await, (StatusCode::OK, item.clone()));
    }
    let (status, created) = send(&app, "POST", "/secured", Some(&hs256), Some(new_item)).await;
    assert_eq!((status, &created["name"]), (StatusCode::CREATED, &json!("widget")));

    assert_eq!(send(&app, "GET", "/secured", None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "GET", "/secured", Some("garbage"), None).await.0, StatusCode::UNAUTHORIZED);
    let no_scope = token(settings, Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), "other");
    assert_eq!(send(&app, "GET", "/secured", Some(&no_scope), None).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bench_server_app_answers_every_route() {
    let fixture = fixture("secure");
    let app = crate::secure_app::app(&fixture.settings).unwrap();
    answers_like_the_load_script_expects(app, &fixture).await;
}

#[tokio::test]
async fn bench_server_app_without_the_token_cache_answers_alike() {
    let mut fixture = fixture("nocache");
    fixture.settings.token_cache = false;
    let app = crate::secure_app::app(&fixture.settings).unwrap();
    answers_like_the_load_script_expects(app, &fixture).await;
}

#[tokio::test]
async fn bench_server_app_writes_one_json_audit_line_per_request() {
    let fixture = fixture("audit");
    let app = crate::secure_app::app(&fixture.settings).unwrap();
    let hs256 = token(&fixture.settings, Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), "items:read");
    assert_eq!(send(&app, "GET", "/secured", Some(&hs256), None).await.0, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/secured", None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "GET", "/axum", None, None).await.0, StatusCode::OK);
    drop(app); // the last handle of the audit log: every queued line is written
    let text = std::fs::read_to_string(&fixture.settings.audit_log).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one line per secured request, none for plain axum: {text}");
    assert_eq!(
        (&lines[0]["route"], &lines[0]["status"], &lines[0]["principal"], &lines[0]["outcome"]),
        (&json!("/secured"), &json!(200), &json!("bench-client"), &json!("allowed"))
    );
    assert_eq!((&lines[1]["status"], &lines[1]["outcome"]), (&json!(401), &json!("denied:missing_credentials")));
    assert!(!text.contains(&hs256), "no token in the audit log");
}

#[tokio::test]
async fn the_floor_route_adds_the_headers_and_an_id_and_writes_a_line() {
    let fixture = fixture("floor");
    let app = crate::secure_app::app(&fixture.settings).unwrap();
    let mut request = Request::builder().uri("/floor").body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'; frame-ancestors 'none'");
    let id = headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), json!({"id": 1, "name": "widget", "price": 9.5}));

    let log = fixture.settings.audit_log.with_extension("floor.log");
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if !text.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!((&line["request_id"], &line["path"], &line["status"]), (&json!(id), &json!("/floor"), &json!(200)));
}

#[tokio::test]
async fn baseline_app_answers_every_route_and_validates() {
    let fixture = fixture("baseline");
    let app = crate::baseline_app::app(&fixture.settings).unwrap();
    answers_like_the_load_script_expects(app.clone(), &fixture).await;
    let hs256 = token(&fixture.settings, Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), "items:read");
    let invalid = json!({"name": "", "price": 0});
    assert_eq!(send(&app, "POST", "/secured", Some(&hs256), Some(invalid)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}
