//! Threat detection in the quickstart: the attack corpus sent as real requests to `/api/items`
//! is refused with 403 and the rule id before authentication; the benign corpus, sent by an
//! authenticated client, is served. Prints both rates (`-- --nocapture`).

use axum::body::Body;
use http::Request;
use secure_api::routing::get;
use secure_api::threat::{ThreatDetector, ThreatMode};
use secure_api::{SecureRouter, Security, public};

use crate::common::{self, assert_problem, bearer, send};

const ATTACKS: &str = include_str!("../../secure-api/src/threat/corpus/attacks.txt");
const BENIGN: &str = include_str!("../../secure-api/src/threat/corpus/benign.txt");

fn lines(corpus: &str) -> impl Iterator<Item = &str> {
    corpus.lines().filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// The payload as a client puts it on the wire: already-encoded sequences kept, and only what
/// cannot appear in a query (space, quotes, `#`, `&`, `<`, `>`, non-ASCII, ...) encoded.
fn wire(payload: &str) -> String {
    let bytes = payload.as_bytes();
    let mut out = String::new();
    for (index, &byte) in bytes.iter().enumerate() {
        let escape_start =
            byte == b'%' && bytes.get(index + 1).is_some_and(|b| b.is_ascii_hexdigit() || *b == b'u' || *b == b'U');
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@/?".contains(&byte) || escape_start;
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a browser sends for a text field: everything but unreserved bytes encoded.
fn form(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn attack_corpus_is_refused_by_the_quickstart() {
    let app = common::app();
    let attacks: Vec<&str> = lines(ATTACKS).collect();
    let mut missed = Vec::new();
    for payload in &attacks {
        let uri = format!("/api/items?q={}", wire(payload));
        let Ok(request) = Request::get(uri.as_str()).body(Body::empty()) else {
            missed.push(format!("{payload} (not a valid URI)"));
            continue;
        };
        let reply = send(&app, request).await;
        if reply.status == 403 && reply.body["type"] == "urn:secure-api:problem:threat-detected" {
            assert!(reply.body["rule"].is_string(), "{reply:?}");
            assert!(reply.headers.get("www-authenticate").is_none(), "refused before authentication");
        } else {
            missed.push(format!("{payload} -> {}", reply.status));
        }
    }
    let blocked = attacks.len() - missed.len();
    let rate = blocked as f64 / attacks.len() as f64 * 100.0;
    println!("quickstart: {blocked}/{} attack payloads blocked on /api/items ({rate:.1} %)", attacks.len());
    for miss in &missed {
        println!("  not blocked: {miss}");
    }
    assert!(rate >= 95.0, "{missed:#?}");
}

#[tokio::test]
async fn benign_corpus_is_served_by_the_quickstart() {
    let app = common::app();
    let benign: Vec<&str> = lines(BENIGN).collect();
    let mut refused = Vec::new();
    for (index, text) in benign.iter().enumerate() {
        // One caller per input: the corpus is larger than the route's `100/15m` per principal.
        let mut claims = common::claims("items:read");
        claims["sub"] = serde_json::json!(format!("benign-{index}"));
        let token = bearer(&common::sign(&claims));
        let uri = format!("/api/items?q={}&note={}", form(text), form(text));
        let mut request = Request::get(uri.as_str()).header("authorization", token.as_str());
        // Visible-ASCII lines also travel as a Referer and a User-Agent.
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            request =
                request.header("user-agent", *text).header("referer", format!("https://example.com/?q={}", form(text)));
        }
        let reply = send(&app, request.body(Body::empty()).unwrap()).await;
        if reply.status != 200 {
            refused.push(format!("{text} -> {} {}", reply.status, reply.body["rule"]));
        }
    }
    println!(
        "quickstart: {} false positives on {} benign inputs ({:.1} %)",
        refused.len(),
        benign.len(),
        refused.len() as f64 / benign.len() as f64 * 100.0
    );
    assert!(refused.is_empty(), "{refused:#?}");
}

#[tokio::test]
async fn the_path_and_headers_are_inspected_too() {
    let app = common::app();
    let reply = send(&app, common::get("/api/items/..%252f..%252fetc%252fpasswd", &[])).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["rule"], "traversal-dot-dot");
    let reply = send(&app, common::get("/api/items", &[("user-agent", "() { :; }; /bin/bash -c id")])).await;
    assert_problem(&reply, 403);
    assert!(reply.body["rule"].as_str().unwrap().starts_with("cmd-"));
    let reply = send(&app, common::get("/health", &[("referer", "https://x.example/%0d%0aSet-Cookie:%20a=b")])).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["rule"], "crlf-header-injection");
}

#[public(threat = false)]
async fn snippets() -> &'static str {
    "snippets accept code"
}

#[public]
async fn guarded() -> &'static str {
    "guarded"
}

fn app(mode: ThreatMode) -> secure_api::SecureApp {
    let security = Security::builder().threat_detection(ThreatDetector::new(mode).unwrap()).build();
    SecureRouter::new().route("/snippets", get(snippets)).route("/guarded", get(guarded)).with_state(security)
}

#[tokio::test]
async fn a_route_can_opt_out() {
    let app = app(ThreatMode::Block);
    let attack = "?code=%3Cscript%3Ealert(1)%3C/script%3E";
    assert_eq!(send(&app, common::get(&format!("/snippets{attack}"), &[])).await.status, 200);
    assert_problem(&send(&app, common::get(&format!("/guarded{attack}"), &[])).await, 403);
}

#[tokio::test]
async fn log_only_mode_lets_the_request_through() {
    let app = app(ThreatMode::LogOnly);
    let reply = send(&app, common::get("/guarded?q=1%27%20OR%20%271%27%3D%271", &[])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "guarded");
}

#[tokio::test]
async fn json_bodies_are_checked_with_check_json() {
    let security = secure_api_examples::quickstart::security(&common::config()).unwrap();
    let attack = serde_json::json!({"name": "Robert'); DROP TABLE items;--", "price": 1});
    let problem = secure_api::threat::check_json(&security, &attack).unwrap_err();
    assert_eq!(problem.status(), 403);
    assert!(problem.body()["rule"].as_str().unwrap().starts_with("sqli-"));
    for text in lines(BENIGN) {
        let body = serde_json::json!({"name": text, "price": 9.99, "tags": [text]});
        assert!(secure_api::threat::check_json(&security, &body).is_ok(), "{text}");
    }
}

/// A `#[public]` handler that reads a JSON body itself and checks it with the request's context.
#[public]
async fn import(
    axum::extract::State(security): axum::extract::State<Security>,
    parts: http::request::Parts,
    body: String,
) -> Result<&'static str, secure_api::Problem> {
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    secure_api::threat::check_request_json(&security, &parts, &value)?;
    Ok("imported")
}

#[test]
fn body_findings_in_log_only_mode_reach_the_audit_line() {
    common::run_alone("gateway_threat::body_findings_in_log_only_mode_reach_the_audit_line_alone");
}

#[tokio::test]
#[ignore = "run in its own process by body_findings_in_log_only_mode_reach_the_audit_line"]
async fn body_findings_in_log_only_mode_reach_the_audit_line_alone() {
    let (captured, _guard) = common::capture_json();
    let attack = serde_json::json!({"name": "x' OR '1'='1", "price": 1});

    // A handler's own check: before, `check_json` could not see the request, so the finding
    // was logged but the audit line said `threat: "-"`.
    let security = Security::builder().threat_detection(ThreatDetector::new(ThreatMode::LogOnly).unwrap()).build();
    let app = SecureRouter::new().route("/import", secure_api::routing::post(import)).with_state(security);
    let reply = send(&app, common::post_json("/import", &attack, &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text, "imported");

    // The quickstart's validated body, in log-only mode.
    let log_only = secure_api_examples::quickstart::Config { threat_mode: ThreatMode::LogOnly, ..common::config() };
    let quickstart = secure_api_examples::quickstart::app(&log_only).unwrap();
    let token = bearer(&common::token("items:write"));
    let reply = send(&quickstart, common::post_json("/api/items", &attack, &[("authorization", &token)])).await;
    assert_eq!(reply.status, 201, "{reply:?}");

    let lines = captured.audit_lines();
    assert_eq!(lines.len(), 2, "{}", captured.text());
    for line in &lines {
        assert_eq!(line["threat"], "sqli-tautology", "{line}");
        assert_eq!(line["outcome"], "allowed", "{line}");
    }
}
