//! Issue 15 §3 and §4: no request can forge, split or colour a log line, no credential reaches
//! a logged query, and one request writes a bounded line.
//!
//! Every request-derived field gets CR, LF, ESC, DEL-class and line-separator characters
//! (raw where HTTP lets them through: UTF-8 in the path and query, obs-text in header values;
//! percent-encoded or inside HTTP Basic / a JWT otherwise), and each sink is checked: the
//! `tracing` text and JSON formats (as the quickstart builds them) and the `AuditLog` file.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::body::Body;
use base64::Engine;
use http::{HeaderValue, Request};
use jsonwebtoken::{Algorithm, Header};
use secure_api_examples::quickstart::Config;
use serde_json::{Value, json};

use crate::common::*;

/// What the attacker wanted to write as a line of its own (issue 15 §3).
const FORGED: &str = "evil\r\nstatus=200 outcome=\"allowed\"\u{1b}[2J\u{2028}\u{85}";
/// `FORGED` as every sink shows it (the value a JSON reader decodes; the text format quotes it).
const FORGED_SHOWN: &str = r#"evil\r\nstatus=200 outcome="allowed"\u{1b}[2J\u{2028}\u{85}"#;
/// `FORGED`, form-urlencoded (RFC 6749 §2.3.1: how a client id travels in Basic and the form).
const FORGED_ENCODED: &str = "evil%0D%0Astatus%3D200+outcome%3D%22allowed%22%1B%5B2J%E2%80%A8%C2%85";

/// Characters no log line may hold raw (besides the newline that ends it).
fn is_raw_control(character: char) -> bool {
    (character.is_control() && character != '\n')
        || matches!(character, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_no_raw_control(sink: &str, text: &str) {
    if let Some(found) = text.chars().find(|&c| is_raw_control(c)) {
        panic!("{sink}: raw U+{:04X} in the log:\n{text}", u32::from(found));
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn token_request(authorization: Option<&str>, form: &str) -> Request<Body> {
    let mut request = Request::post("/oauth/token").header("content-type", "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

/// A GET with header values given as bytes (obs-text and HTAB are allowed in header values;
/// the `http` crate refuses the other C0 controls and DEL, as hyper does on the wire).
fn get_raw(path: &str, headers: &[(&str, &[u8])]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    request.body(Body::empty()).unwrap()
}

/// The hostile requests, one per request-derived field; each writes exactly one audit line.
fn hostile_requests() -> Vec<(&'static str, Request<Body>)> {
    let config = config();
    let secret = config.client_secret.expose().to_owned();
    let mut kid_header = Header::new(Algorithm::HS256);
    kid_header.kid = Some(FORGED.to_owned());
    let forged_kid = sign_with(kid_header, &claims("items:read"), config.jwt_secret.expose().as_bytes());
    let mut forged_sub = claims("items:read");
    forged_sub["sub"] = json!(FORGED);
    let forged_principal = sign(&forged_sub);
    vec![
        ("client_id in HTTP Basic, raw", token_request(Some(&basic(FORGED, "x")), "grant_type=client_credentials")),
        (
            "client_id in HTTP Basic, form-encoded",
            token_request(Some(&basic(FORGED_ENCODED, "x")), "grant_type=client_credentials"),
        ),
        (
            "client_id in the form",
            token_request(None, &format!("grant_type=client_credentials&client_id={FORGED_ENCODED}&client_secret=x")),
        ),
        (
            "scope",
            token_request(
                Some(&basic(&config.client_id, &secret)),
                &format!("grant_type=client_credentials&scope={FORGED_ENCODED}"),
            ),
        ),
        ("path (raw UTF-8)", get("/api/items/\u{2028}\u{85}\u{9b}2J\u{202e}", &[])),
        ("query (raw UTF-8 and encoded)", get(&format!("/api/items?q=\u{2028}\u{9b}&{FORGED_ENCODED}=1"), &[])),
        (
            "query parameter name matching a threat rule",
            get("/api/items?%E2%80%A8%1B%3Cscript%3Ealert(1)%3C/script%3E=1", &[]),
        ),
        (
            "user agent (obs-text, HTAB)",
            get_raw("/health", &[("user-agent", b"agent\t\xe2\x80\xa8\xc2\x85\xc2\x9b[2J")]),
        ),
        ("API-key header", get_raw("/api/reports", &[("x-api-key", b"key\t\xe2\x80\xa8\xc2\x85\xc2\x9b[2J")])),
        ("JWT kid", get("/api/items", &[("authorization", &bearer(&forged_kid))])),
        ("token subject (principal)", get("/api/items", &[("authorization", &bearer(&forged_principal))])),
        (
            "authorization header (obs-text)",
            get_raw("/api/items", &[("authorization", b"Bearer \xe2\x80\xa8\xc2\x85")]),
        ),
    ]
}

/// A query full of credentials under the names issue 15 §4 lists, a JWT and the API key under
/// innocent names, and a harmless parameter that must stay.
fn secret_query() -> (String, Vec<String>) {
    let key = config().api_key.expose().clone();
    let jwt = token("items:read");
    let query = format!(
        "x-api-key={key}&api-key={key}&X_API_KEY={key}&jwt={jwt}&accessToken=at-1234&client_secret=cs-1234\
         &password=pw-1234&signature=sig-1234&session=sess-1234&code=code-1234&q={key}&t={jwt}&page=2"
    );
    let secrets = [key.as_str(), &jwt, "at-1234", "cs-1234", "pw-1234", "sig-1234", "sess-1234", "code-1234"];
    (query, secrets.map(str::to_owned).to_vec())
}

/// Sends the hostile requests, the secret query and one oversized request to the quickstart
/// built from `config`; returns how many requests were sent (one audit line each).
async fn send_everything(config: &Config) -> usize {
    let app = secure_api_examples::quickstart::app(config).unwrap();
    let app = &app;
    let mut sent = 0;
    for (field, request) in hostile_requests() {
        let reply = send(app, request).await;
        assert!(reply.status.as_u16() < 500, "{field}: {reply:?}");
        sent += 1;
    }
    let (query, _) = secret_query();
    assert_eq!(send(app, get(&format!("/health?{query}"), &[])).await.status, 200);
    let huge = format!("/health?filler={}", "q".repeat(8 * 1024));
    let reply = send(app, get_raw(&huge, &[("user-agent", "u".repeat(16 * 1024).as_bytes())])).await;
    assert!(reply.status.as_u16() < 500, "{reply:?}");
    sent + 2
}

/// Checks the audit lines' values (as a JSON reader decodes them) for both JSON sinks.
fn check_audit_values(sink: &str, lines: &[Value], sent: usize) {
    assert_eq!(lines.len(), sent, "{sink}: one audit line per request: {lines:#?}");
    let field = |line: &Value, name: &str| {
        line.get("fields").unwrap_or(line).get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    let principals: Vec<String> = lines.iter().map(|line| field(line, "principal")).collect();
    assert!(principals.contains(&FORGED_SHOWN.to_owned()), "{sink}: the forged subject, escaped: {principals:?}");
    let paths: Vec<String> = lines.iter().map(|line| field(line, "path")).collect();
    assert!(paths.contains(&r"/api/items/\u{2028}\u{85}\u{9b}2J\u{202e}".to_owned()), "{sink}: {paths:?}");
    let headers: Vec<String> = lines.iter().map(|line| field(line, "headers")).collect();
    assert!(
        headers.iter().any(|shown| shown.contains(r"user-agent=agent\t\u{2028}\u{85}\u{9b}[2J")),
        "{sink}: {headers:?}"
    );

    // §4: the credentials in the query are gone, the harmless parameter stays.
    let (_, secrets) = secret_query();
    let queries: Vec<String> = lines.iter().map(|line| field(line, "query")).collect();
    let shown = queries.iter().find(|query| query.ends_with("&page=2")).expect("the secret query's line");
    assert!(
        shown.starts_with("x-api-key=[redacted]&api-key=[redacted]&X_API_KEY=[redacted]&jwt=[redacted]"),
        "{shown}"
    );
    assert!(shown.contains("&q=[redacted]&t=[redacted]&"), "an API key and a JWT under innocent names: {shown}");
    for secret in &secrets {
        let all = serde_json::to_string(lines).unwrap();
        assert!(!all.contains(secret.as_str()), "{sink}: {secret} is logged: {shown}");
    }

    // §4: the 8 KB query and the 16 KB user agent make a bounded line.
    let huge = lines.iter().find(|line| field(line, "query").starts_with("filler=")).expect("the oversized line");
    let length = serde_json::to_string(huge).unwrap().len();
    assert!(length < 4 * 1024, "{sink}: a {length}-byte line for one request");
    assert!(field(huge, "query").ends_with(&format!("…(truncated, {} bytes)", 8 * 1024 + 7)), "{sink}");
    assert!(field(huge, "headers").contains("…(truncated, 16384 bytes)"), "{sink}");
}

#[test]
fn text_log_lines_cannot_be_forged() {
    run_alone("log_injection::text_probe");
}

#[tokio::test]
#[ignore = "run in its own process by text_log_lines_cannot_be_forged"]
async fn text_probe() {
    assert_eq!(std::env::var("SECURE_API_RUN_ALONE").as_deref(), Ok("1"), "run through its parent test");
    let captured = Captured::default();
    // The quickstart's text format (ANSI colours off, as it does when stdout is not a terminal:
    // the formatter's own colour codes would be escape bytes too).
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let sent = send_everything(&config()).await;

    let text = captured.text();
    assert_no_raw_control("text", &text);
    // One line per event: every line starts as the formatter starts an event (a time and a
    // level), so no value started a line of its own.
    for line in text.lines() {
        let (time, rest) = line.split_once(' ').unwrap_or_default();
        assert!(time.len() >= 20 && time.starts_with("20") && time.ends_with('Z'), "a forged line: {line:?}");
        let level = rest.trim_start().split(' ').next().unwrap_or_default();
        assert!(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level), "a forged line: {line:?}");
    }
    assert_eq!(text.lines().filter(|line| line.contains(" secure_api::audit: request")).count(), sent, "{text}");
    // The values were logged, escaped (the formatter quotes `&str` fields, doubling backslashes).
    let forged_in_text = r#""evil\\r\\nstatus=200 outcome=\"allowed\"\\u{1b}[2J\\u{2028}\\u{85}""#;
    let failures: Vec<&str> = text.lines().filter(|line| line.contains("client authentication failed")).collect();
    assert!(!failures.is_empty(), "{text}");
    for line in &failures {
        assert!(line.contains(&format!("client_id={forged_in_text}")), "{line}");
    }
    assert!(text.contains(&format!("principal={forged_in_text}")), "{text}");
    assert!(text.contains(r#"location="query:\\u{2028}"#), "the threat line's parameter name: {text}");
    assert!(text.contains("user-agent=agent\\\\t\\\\u{2028}"), "{text}");
}

#[test]
fn json_log_lines_cannot_be_forged() {
    run_alone("log_injection::json_probe");
}

#[tokio::test]
#[ignore = "run in its own process by json_log_lines_cannot_be_forged"]
async fn json_probe() {
    assert_eq!(std::env::var("SECURE_API_RUN_ALONE").as_deref(), Ok("1"), "run through its parent test");
    let captured = Captured::default();
    // The quickstart's JSON format.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let sent = send_everything(&config()).await;

    let text = captured.text();
    assert_no_raw_control("json", &text);
    // One line per event: every line is one whole JSON object, and every decoded value is
    // free of raw controls too (a reader printing it to a terminal gets no escape sequence).
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("a forged line: {line:?}")))
        .collect();
    for line in &lines {
        for value in line.as_object().unwrap().values() {
            assert_no_raw_control("json, decoded", value.as_str().unwrap_or_default());
        }
    }
    let failures: Vec<&Value> = lines.iter().filter(|line| line["message"] == "client authentication failed").collect();
    assert!(!failures.is_empty(), "{text}");
    for line in failures {
        assert_eq!(line["client_id"], FORGED_SHOWN, "{line}");
    }
    let threat = lines.iter().find(|line| line["target"] == "secure_api::threat").expect("the threat line");
    // The location names the hostile query text with its separators escaped, whichever of the
    // hostile inputs the detector reports first.
    let location = threat["location"].as_str().unwrap();
    assert!(location.starts_with("query:") && location.contains(r"\u{2028}"), "{threat}");
    let audit: Vec<Value> = lines.into_iter().filter(|line| line["target"] == "secure_api::audit").collect();
    check_audit_values("json", &audit, sent);
}

/// Waits (bounded) until the audit file holds `count` lines, and returns its text.
fn read_audit_file(path: &std::path::Path, count: usize) -> String {
    // The writer thread writes whatever has queued every 20 ms.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= count || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn audit_file_lines_cannot_be_forged() {
    let path = std::env::temp_dir().join(format!("secure-api-log-injection-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut config = config();
    config.audit_file = Some(path.clone());
    let sent = send_everything(&config).await;

    let text = read_audit_file(&path, sent);
    let _ = std::fs::remove_file(&path);
    assert_no_raw_control("audit file", &text);
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("a forged line: {line:?}")))
        .collect();
    for line in &lines {
        for value in line.as_object().unwrap().values() {
            assert_no_raw_control("audit file, decoded", value.as_str().unwrap_or_default());
        }
    }
    check_audit_values("audit file", &lines, sent);
}

/// The attack as it was made: raw bytes on a socket (hyper lets UTF-8 through in the request
/// target and obs-text in header values), against the served quickstart writing its audit file.
#[tokio::test]
async fn raw_bytes_over_a_socket_reach_the_audit_file_escaped() {
    let path = std::env::temp_dir().join(format!("secure-api-log-injection-socket-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut config = config();
    config.audit_file = Some(path.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(secure_api::serve(listener, secure_api_examples::quickstart::app(&config).unwrap()));

    let request = [
        &b"GET /health/\xe2\x80\xa8\xc2\x85\xc2\x9b[2J?q=\xe2\x80\xa9\xc2\x9b HTTP/1.1\r\nHost: 127.0.0.1\r\n"[..],
        b"User-Agent: a\t\xe2\x80\xa8\xc2\x85\xc2\x9b[31mred\r\nConnection: close\r\n\r\n",
    ]
    .concat();
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(&request).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");

    let text = read_audit_file(&path, 1);
    let _ = std::fs::remove_file(&path);
    assert_no_raw_control("audit file", &text);
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["path"], r"/health/\u{2028}\u{85}\u{9b}[2J");
    assert_eq!(line["query"], r"q=\u{2029}\u{9b}");
    assert!(line["headers"].as_str().unwrap().contains(r"user-agent=a\t\u{2028}\u{85}\u{9b}[31mred"), "{line}");
}
