//! The audit line: one per request, with the outcome, and never a token, key or secret.

use axum::body::Body;
use base64::Engine;
use http::Request;

use crate::common::*;

#[test]
fn one_line_per_request_with_outcome_and_no_secret() {
    run_alone("audit_log::audit_probe");
}

#[tokio::test]
#[ignore = "run in its own process by one_line_per_request_with_outcome_and_no_secret"]
async fn audit_probe() {
    assert_eq!(std::env::var("SECURE_API_RUN_ALONE").as_deref(), Ok("1"), "run through its parent test");
    let captured = Captured::default();
    let subscriber =
        tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(captured.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = config();
    let app = app();
    let good = token("items:read");
    let forged = format!("{good}x");
    let key = config.api_key.expose().clone();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            config.client_id,
            config.client_secret.expose()
        ))
    );
    let token_request = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", &basic)
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();

    let statuses = [
        send(&app, get("/api/items", &[("authorization", &bearer(&good))])).await.status,
        send(&app, get("/api/items", &[("authorization", &bearer(&forged))])).await.status,
        send(&app, get("/api/items?access_token=leaked-in-query", &[])).await.status,
        send(&app, get("/api/reports", &[("x-api-key", &key)])).await.status,
        send(&app, get("/api/reports", &[("x-api-key", "wrong-key-wrong-key-wrong-key-wrong")])).await.status,
        send(&app, token_request).await.status,
    ];
    assert_eq!(statuses.map(|status| status.as_u16()), [200, 401, 401, 200, 401, 200]);

    let log = captured.text();
    let audit_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["target"] == "secure_api::audit")
        .collect();
    assert_eq!(audit_lines.len(), 6, "{log}");
    let outcomes: Vec<&str> = audit_lines.iter().map(|line| line["fields"]["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            "allowed",
            "denied:invalid_token",
            "denied:missing_credentials",
            "allowed",
            "denied:invalid_api_key",
            "allowed"
        ]
    );
    assert_eq!(audit_lines[0]["fields"]["principal"], "alice");
    assert_eq!(audit_lines[3]["fields"]["principal"], "reports-client");
    assert_eq!(audit_lines[2]["fields"]["path"], "/api/items", "the query string is never logged");

    for secret in [good.as_str(), &forged, &key, config.client_secret.expose(), &basic, "leaked-in-query"] {
        assert!(!log.contains(secret), "the log contains a secret: {secret}\n{log}");
    }
    // Not even the token's signature part.
    let signature = good.rsplit('.').next().unwrap();
    assert!(!log.contains(signature));
}

#[test]
fn debug_output_of_configuration_never_shows_secrets() {
    let config = config();
    let printed = format!("{config:?} {:?}", secure_api_examples::quickstart::security(&config).unwrap());
    for secret in [config.jwt_secret.expose().as_str(), config.client_secret.expose(), config.api_key.expose()] {
        assert!(!printed.contains(secret), "{printed}");
    }
    assert!(printed.contains("[redacted]"));
}
