//! The audit log of the quickstart, captured with a JSON `tracing` subscriber writing to a
//! buffer: one line per request with the stable schema, outcomes with reason codes, the request
//! id rules, and redaction of every credential (Authorization, Cookie, X-API-Key, the token
//! endpoint's body and its answer, secret query parameters).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use secure_api::SecureApp;
use secure_api::audit::FIELDS;

use crate::common::{self, Reply, bearer, send};

async fn from(app: &SecureApp, peer: &str, request: Request<Body>) -> Reply {
    let mut request = request;
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    send(app, request).await
}

#[test]
fn one_json_line_per_request_with_the_stable_schema() {
    common::run_alone("gateway_audit::one_json_line_per_request_with_the_stable_schema_alone");
}

#[tokio::test]
#[ignore = "run in its own process by one_json_line_per_request_with_the_stable_schema"]
async fn one_json_line_per_request_with_the_stable_schema_alone() {
    let (captured, _guard) = common::capture_json();
    let app = common::app();
    let token = bearer(&common::token("items:read"));
    let reply = from(&app, "203.0.113.7:4242", common::get("/api/items/42?page=2", &[("authorization", &token)])).await;
    assert_eq!(reply.status, 404, "no item 42 in a fresh store");

    let lines = captured.audit_lines();
    assert_eq!(lines.len(), 1, "{}", captured.text());
    let line = &lines[0];
    for field in FIELDS {
        assert!(line.get(field).is_some(), "missing `{field}` in {line}");
    }
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "request");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/items/{id}");
    assert_eq!(line["path"], "/api/items/42");
    assert_eq!(line["status"], 404);
    assert_eq!(line["client_ip"], "203.0.113.7");
    assert_eq!(line["https"], false);
    assert_eq!(line["principal"], "alice");
    assert_eq!(line["outcome"], "not_found");
    assert_eq!(line["threat"], "-");
    assert_eq!(line["query"], "page=2");
    assert!(line["latency_us"].is_u64());
    let time = line["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    assert_eq!(line["request_id"], reply.header("x-request-id"), "the id is echoed in the response");
}

#[test]
fn outcomes_carry_reason_codes() {
    common::run_alone("gateway_audit::outcomes_carry_reason_codes_alone");
}

#[tokio::test]
#[ignore = "run in its own process by outcomes_carry_reason_codes"]
async fn outcomes_carry_reason_codes_alone() {
    let (captured, _guard) = common::capture_json();
    let app = common::app();
    let read = bearer(&common::token("items:read"));
    let cases: Vec<(Request<Body>, &str)> = vec![
        (common::get("/api/items", &[("authorization", &read)]), "allowed"),
        (common::get("/api/items", &[]), "denied:missing_credentials"),
        (common::get("/api/items", &[("authorization", "Bearer not-a-jwt")]), "denied:invalid_token"),
        (
            common::post_json("/api/items", &serde_json::json!({"name": "x", "price": 1}), &[("authorization", &read)]),
            "denied:insufficient_scope",
        ),
        (common::get("/api/reports", &[("x-api-key", "wrong-key")]), "denied:invalid_api_key"),
        (common::get("/api/items?q=%27%20OR%20%271%27%3D%271", &[]), "denied:threat:sqli-tautology"),
        (common::get("/nowhere", &[]), "not_found"),
    ];
    let expected: Vec<&str> = cases.iter().map(|(_, outcome)| *outcome).collect();
    for (request, _) in cases {
        from(&app, "198.51.100.1:1", request).await;
    }
    let outcomes: Vec<String> =
        captured.audit_lines().iter().map(|line| line["outcome"].as_str().unwrap().to_owned()).collect();
    assert_eq!(outcomes, expected);
    let lines = captured.audit_lines();
    assert_eq!(lines.last().unwrap()["route"], "-", "no route matched");

    // An app-wide IP rule.
    let config = secure_api_examples::quickstart::Config {
        ip_rules: secure_api::ip_rules::IpRules::new().deny("198.51.100.0/24").unwrap(),
        ..common::config()
    };
    let app = secure_api_examples::quickstart::app(&config).unwrap();
    from(&app, "198.51.100.1:1", common::get("/health", &[])).await;
    assert_eq!(captured.audit_lines().last().unwrap()["outcome"], "denied:ip_rule");
}

#[test]
fn request_id_from_trusted_proxies_only_and_only_when_sane() {
    common::run_alone("gateway_audit::request_id_from_trusted_proxies_only_and_only_when_sane_alone");
}

#[tokio::test]
#[ignore = "run in its own process by request_id_from_trusted_proxies_only_and_only_when_sane"]
async fn request_id_from_trusted_proxies_only_and_only_when_sane_alone() {
    let (captured, _guard) = common::capture_json();
    let config = secure_api_examples::quickstart::Config {
        trusted_proxies: secure_api::client::TrustedProxies::parse("10.0.0.0/8").unwrap().with_trusted_request_id(true),
        ..common::config()
    };
    let app = secure_api_examples::quickstart::app(&config).unwrap();
    let with_id = |id: &str| common::get("/health", &[("x-request-id", id)]);

    let trusted = from(&app, "10.0.0.2:1", with_id("edge-42.abc")).await;
    assert_eq!(trusted.header("x-request-id"), "edge-42.abc");

    let untrusted = from(&app, "192.0.2.1:1", with_id("edge-42.abc")).await;
    assert_ne!(untrusted.header("x-request-id"), "edge-42.abc", "a client cannot choose its id");
    assert_eq!(untrusted.header("x-request-id").len(), 36);

    let insane = from(&app, "10.0.0.2:1", with_id("<script>alert(1)</script>")).await;
    assert_ne!(insane.header("x-request-id"), "<script>alert(1)</script>");

    let generated = from(&app, "10.0.0.2:1", common::get("/health", &[])).await;
    assert_ne!(generated.header("x-request-id"), insane.header("x-request-id"), "fresh per request");

    let ids: Vec<String> =
        captured.audit_lines().iter().map(|line| line["request_id"].as_str().unwrap().to_owned()).collect();
    let echoed = [&trusted, &untrusted, &insane, &generated].map(|reply| reply.header("x-request-id").to_owned());
    assert_eq!(ids, echoed, "the log and the response agree");

    // Without `with_trusted_request_id` even a trusted proxy's id is replaced (issue 15 §2).
    let config = secure_api_examples::quickstart::Config {
        trusted_proxies: secure_api::client::TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..common::config()
    };
    let app = secure_api_examples::quickstart::app(&config).unwrap();
    let replaced = from(&app, "10.0.0.2:1", with_id("edge-42.abc")).await;
    assert_eq!(replaced.header("x-request-id").len(), 36, "a generated UUID");
}

#[test]
fn no_secret_reaches_the_log() {
    common::run_alone("gateway_audit::no_secret_reaches_the_log_alone");
}

#[tokio::test]
#[ignore = "run in its own process by no_secret_reaches_the_log"]
async fn no_secret_reaches_the_log_alone() {
    use base64::Engine;

    let (captured, _guard) = common::capture_json();
    let config = common::config();
    let app = common::app();
    let client_secret = config.client_secret.expose().clone();
    let api_key = config.api_key.expose().clone();

    // Token endpoint: secret in the form body, then in HTTP Basic, and a failed attempt.
    let form = format!("grant_type=client_credentials&client_id=demo-client&client_secret={client_secret}");
    let request = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "audit-test/1")
        .body(Body::from(form))
        .unwrap();
    let issued = from(&app, "192.0.2.10:1", request).await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access_token = issued.body["access_token"].as_str().unwrap().to_owned();

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("demo-client:{client_secret}"));
    let request = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {basic}"))
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    assert_eq!(from(&app, "192.0.2.10:1", request).await.status, 200);
    let request = Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials&client_id=demo-client&client_secret=guessed-secret-123"))
        .unwrap();
    assert_eq!(from(&app, "192.0.2.10:1", request).await.status, 401);

    // The issued token used in a header and (wrongly) in the query; a cookie; the API key.
    let request = common::get(
        &format!("/api/items?access_token={access_token}&page=1"),
        &[("authorization", &bearer(&access_token)), ("cookie", "session=cookie-secret-value")],
    );
    assert_eq!(from(&app, "192.0.2.10:1", request).await.status, 200);
    let request = common::get("/api/reports", &[("x-api-key", &api_key)]);
    assert_eq!(from(&app, "192.0.2.10:1", request).await.status, 200);
    // A log-only finding names the rule, never the input.
    let log_only = secure_api_examples::quickstart::Config {
        threat_mode: secure_api::threat::ThreatMode::LogOnly,
        ..common::config()
    };
    let log_only_app = secure_api_examples::quickstart::app(&log_only).unwrap();
    let request = common::get("/health?q=%27%20OR%20%27x%27%3D%27x-marker", &[]);
    assert_eq!(from(&log_only_app, "192.0.2.10:1", request).await.status, 200);

    let text = captured.text();
    for secret in [&client_secret, &api_key, &access_token, &basic, "guessed-secret-123", "cookie-secret-value"] {
        assert!(!text.contains(secret), "`{secret}` leaked into the log:\n{text}");
    }
    // The token's signature alone must not appear either (a truncated token is still a token).
    let signature = access_token.rsplit('.').next().unwrap();
    assert!(!text.contains(signature));

    // The threat warning names rule and location; the input (which could hold anything) is
    // only in the audit line's query field, where the operator chose to log queries.
    let warning = text.lines().find(|line| line.contains("\"target\":\"secure_api::threat\"")).unwrap();
    assert!(warning.contains("sqli-tautology") && warning.contains("query:q"), "{warning}");
    assert!(!warning.contains("x-marker"), "{warning}");

    let lines = captured.audit_lines();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[0]["headers"], "user-agent=audit-test/1");
    assert_eq!(lines[1]["headers"], "authorization=[redacted]");
    assert_eq!(lines[2]["outcome"], "denied:invalid_client");
    assert_eq!(lines[3]["query"], "access_token=[redacted]&page=1");
    assert_eq!(lines[3]["headers"], "authorization=[redacted] cookie=[redacted]");
    assert_eq!(lines[3]["principal"], "demo-client");
    assert_eq!(lines[4]["headers"], "x-api-key=[redacted]");
    assert_eq!(lines[5]["threat"], "sqli-tautology");
    assert_eq!(lines[5]["outcome"], "allowed");
}
