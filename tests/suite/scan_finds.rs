//! Proof that the self-scan finds things: deliberately broken routes, each caught.

use axum::body::Bytes;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, map_response};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use secure_api::routing::{get, post};
use secure_api::testing::{Probe, ScanReport, scan};
use secure_api::{SecureRouter, Security, secure};
use secure_api_examples::quickstart;

use crate::common::config;
use crate::scan::credentials;

/// Scans a one-route app built on the quickstart's security configuration.
async fn scan_app(routes: SecureRouter<Security>) -> ScanReport {
    let security = quickstart::security(&config()).expect("test config is valid");
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(security);
    let report = scan(&recorded, &app, &credentials()).await;
    println!("{report}");
    report
}

fn assert_found(report: &ScanReport, method: Method, path: &str, probe: Probe, reason: &str) {
    let row = report.finding(&method, path, probe).unwrap_or_else(|| panic!("no {probe} finding:\n{report}"));
    assert!(row.verdict.to_string().contains(reason), "{} lacks `{reason}`", row.verdict);
    let panic = std::panic::catch_unwind(|| report.assert_clean()).expect_err("assert_clean fails");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(&format!("{method} {path} [{probe}]")), "{message}");
}

/// A thing as clients send it.
#[secure_api::request]
#[derive(Debug)]
struct NewThing {
    #[validate(length(min = 1, max = 100))]
    name: String,
}

// 1. A handler whose body limit is undone: a layer turns the framework's 413 into a 200.

#[secure(auth = "oauth", scopes = ["items:write"], validate, max_body = "1KiB")]
async fn create_thing(axum::Json(_item): axum::Json<NewThing>) -> StatusCode {
    StatusCode::CREATED
}

async fn swallow_413(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

#[tokio::test]
async fn finds_a_body_limit_undone_by_a_layer() {
    let report =
        scan_app(SecureRouter::new().route("/things", post(create_thing).layer(map_response(swallow_413)))).await;
    assert_found(&report, Method::POST, "/things", Probe::OversizedBody, "expected 413");
    // The rest of the route still holds.
    assert!(report.finding(&Method::POST, "/things", Probe::MalformedJson).is_none());
}

// 1b. A route that opted out of validation and reads any raw body: its recorded limit is not
// enforced.

#[secure(auth = "oauth", scopes = ["items:write"], validate = false)]
async fn upload(_body: Bytes) -> StatusCode {
    StatusCode::OK
}

#[tokio::test]
async fn finds_a_raw_body_handler_ignoring_its_limit() {
    let report = scan_app(SecureRouter::new().route("/upload", post(upload))).await;
    assert_found(&report, Method::POST, "/upload", Probe::OversizedBody, "expected 413");
}

// 2. A route whose authentication a layer bypasses: it answers before the guard runs.

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn secret() -> &'static str {
    "secret"
}

async fn answer_everyone(_request: Request, _next: Next) -> Response {
    (StatusCode::OK, "welcome").into_response()
}

#[tokio::test]
async fn finds_authentication_bypassed_by_a_layer() {
    let report = scan_app(SecureRouter::new().route("/secret", get(secret).layer(from_fn(answer_everyone)))).await;
    assert_found(&report, Method::GET, "/secret", Probe::NoCredentials, "expected 401");
    for probe in [Probe::AlgNone, Probe::Expired, Probe::WrongAudience, Probe::OtherKey, Probe::Tampered] {
        assert_found(&report, Method::GET, "/secret", probe, "forged or wrong credential accepted");
    }
    assert_found(&report, Method::GET, "/secret", Probe::ApiKeyOnBearerRoute, "forged or wrong credential accepted");
    assert_found(&report, Method::GET, "/secret", Probe::InsufficientScope, "expected 403");
}

// 3. A handler that answers bad input with a 500 and its internals.

#[secure(auth = "oauth", scopes = ["items:write"], validate = false)]
async fn import(body: String) -> Response {
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(error) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("thread 'tokio' panicked at src/import.rs:9: {error:?}"))
                .into_response()
        }
    }
}

#[tokio::test]
async fn finds_a_server_error_on_bad_input() {
    let report = scan_app(SecureRouter::new().route("/import", post(import))).await;
    assert_found(&report, Method::POST, "/import", Probe::MalformedJson, "server error 500");
    let row = report.finding(&Method::POST, "/import", Probe::MalformedJson).expect("found");
    let verdict = row.verdict.to_string();
    assert!(verdict.contains("not application/problem+json") && verdict.contains("body leaks"), "{verdict}");
}

// A path parameter parsed by hand, answering a wrong value in plain text instead of a problem.
// (A typed `Path<u64>`, with or without `validate`, is answered with a 422 problem by the
// framework: the second test.)

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn get_thing_by_hand(axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) => id.to_string().into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad id").into_response(),
    }
}

#[secure(auth = "oauth", scopes = ["items:read"])]
async fn get_thing(axum::extract::Path(id): axum::extract::Path<u64>) -> String {
    id.to_string()
}

#[tokio::test]
async fn finds_a_path_parameter_refused_outside_the_response_contract() {
    let report = scan_app(SecureRouter::new().route("/things/{id}", get(get_thing_by_hand))).await;
    assert_found(&report, Method::GET, "/things/{id}", Probe::WrongTypePathParam, "not application/problem+json");
}

#[tokio::test]
async fn a_typed_path_parameter_without_validate_is_refused_as_a_problem() {
    let report = scan_app(SecureRouter::new().route("/things/{id}", get(get_thing))).await;
    let row = report
        .rows()
        .iter()
        .find(|row| row.probe == Probe::WrongTypePathParam)
        .unwrap_or_else(|| panic!("the probe ran:\n{report}"));
    assert_eq!(row.got.map(|status| status.as_u16()), Some(422), "{report}");
    report.assert_clean();
}
