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

#[secure_api::public]
async fn ping() -> &'static str {
    "pong"
}

/// The audit file is a named pipe whose reader stops reading (a log shipper that stalled):
/// once the pipe and the log's queue are full, new requests get a `503` at once, over a real
/// socket, instead of every request thread waiting for the pipe; once the reader moves again,
/// requests are served again and every answered request has its line.
#[test]
fn a_stalled_audit_pipe_refuses_requests_with_503_and_loses_no_admitted_line() {
    use std::io::Read;
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::{Duration, Instant};

    let dir = std::env::temp_dir().join(format!("secure-api-audit-fifo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("audit.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo");

    // The reader opens the pipe, then reads nothing until told to.
    let read = Arc::new(Mutex::new(Vec::new()));
    let (drain, drain_now) = mpsc::channel::<()>();
    let reader = {
        let (fifo, read) = (fifo.clone(), Arc::clone(&read));
        std::thread::spawn(move || {
            let mut pipe = std::fs::File::open(&fifo).expect("the reader opens the pipe");
            drain_now.recv().expect("told to drain");
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
        })
    };
    let log = secure_api::audit::AuditLog::to_file(&fifo).unwrap().max_queued_bytes(16 * 1024);
    let security =
        secure_api::Security::builder().audit(secure_api::audit::AuditConfig::new().log_to(log.clone())).build();
    let app = secure_api::SecureRouter::new().route("/ping", secure_api::routing::get(ping)).with_state(security);

    let addr = serve_on_own_threads(app);
    let call = |what: &str| call_ping(addr, what);

    // Served until the pipe (64 KiB) and the queue (16 KiB) are full; then refused.
    let mut served = 0;
    let refusal = loop {
        let response = call("filling");
        if response.0 != 200 {
            break response;
        }
        served += 1;
        assert!(served < 5_000, "never refused: the pipe is not stalled");
    };
    eprintln!("{served} requests served before the stalled pipe and the queue were full");
    assert!(served > 100, "the pipe and the queue hold a few hundred lines: {served}");
    let (status, headers, body) = refusal;
    assert_audit_unavailable(status, &headers, &body);
    let mut refused = 1;
    for _ in 0..20 {
        assert_eq!(call("while stalled").0, 503);
        refused += 1;
    }
    assert!(log.is_backed_up());

    // The reader moves again: requests are served again.
    drain.send(()).unwrap();
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(10), "not served again within 10 s");
        match call("after the drain").0 {
            200 => {
                served += 1;
                break;
            }
            503 => refused += 1,
            other => panic!("status {other}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // Every answered request has its line: the served ones `allowed`, the refused ones
    // `denied:audit_unavailable`.
    log.flush();
    let started = Instant::now();
    let (allowed, unavailable) = loop {
        let text = String::from_utf8_lossy(&read.lock().unwrap()).into_owned();
        // The reader may be in the middle of a line: only whole lines count (yet).
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        let outcomes: Vec<String> = whole
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("whole JSON lines"))
            .map(|line| line["outcome"].as_str().unwrap_or_default().to_owned())
            .collect();
        let count = |outcome: &str| outcomes.iter().filter(|seen| *seen == outcome).count();
        let counts = (count("allowed"), count("denied:audit_unavailable"));
        if counts == (served, refused) || started.elapsed() > Duration::from_secs(10) {
            break counts;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((allowed, unavailable), (served, refused), "one line per answered request");
    drop(log);
    drop(reader);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The audit file is on a full disk (`/dev/full`, on which every write fails with `ENOSPC` as
/// on a filesystem with no space left): requests are served while the log's queue has room
/// for their lines, then refused with `503` `audit-unavailable` instead of being served with
/// their lines lost, and the server keeps answering.
#[test]
fn a_full_disk_under_the_audit_file_refuses_requests_with_503_instead_of_serving_unlogged() {
    assert!(std::path::Path::new("/dev/full").exists(), "Linux's /dev/full");
    let log = secure_api::audit::AuditLog::to_file("/dev/full").unwrap().max_queued_bytes(4 * 1024);
    let security =
        secure_api::Security::builder().audit(secure_api::audit::AuditConfig::new().log_to(log.clone())).build();
    let app = secure_api::SecureRouter::new().route("/ping", secure_api::routing::get(ping)).with_state(security);
    let addr = serve_on_own_threads(app);

    let mut served = 0;
    let (status, headers, body) = loop {
        let response = call_ping(addr, "filling");
        if response.0 != 200 {
            break response;
        }
        served += 1;
        assert!(served < 1_000, "never refused: lines are lost on the full disk and requests served unlogged");
    };
    eprintln!("{served} requests served before the queue of unwritable lines was full");
    // A line is about 300 bytes; the queue holds 4 KiB (plus the one batch being retried).
    assert!((5..100).contains(&served), "{served}");
    assert_audit_unavailable(status, &headers, &body);
    for _ in 0..20 {
        assert_eq!(call_ping(addr, "while the disk is full").0, 503);
    }
    assert!(log.is_backed_up());
}

/// Serves `app` on its own runtime threads, as in production (the test's client must not share
/// them); returns its address. The server lives until the test process ends.
fn serve_on_own_threads(app: secure_api::SecureApp) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = secure_api::serve(listener, app).await;
        });
    });
    addr
}

/// One `GET /ping` on its own connection over a raw socket, answered within 2 s: the status,
/// the headers (lower-cased names) and the body.
fn call_ping(addr: std::net::SocketAddr, what: &str) -> (u16, std::collections::HashMap<String, String>, String) {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let asked = Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap_or_else(|error| panic!("{what}: no answer: {error}"));
    assert!(asked.elapsed() < Duration::from_secs(2), "{what}: waited {:?}", asked.elapsed());
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{what}: {answer:?}"));
    let mut lines = head.lines();
    let status: u16 = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The layer's refusal while the audit log cannot take lines: `503` problem+json with
/// `Retry-After`, the security headers and a request id, and no internals.
fn assert_audit_unavailable(status: u16, headers: &std::collections::HashMap<String, String>, body: &str) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(headers.contains_key("x-request-id") && headers.contains_key("x-content-type-options"), "{headers:?}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["type"], "urn:secure-api:problem:audit-unavailable", "{body}");
    assert_no_internals(&body.to_string());
}

#[secure_api::public]
async fn never_answers() -> &'static str {
    std::future::pending::<()>().await;
    "unreachable"
}

#[secure_api::public]
async fn panics() -> &'static str {
    panic!("a handler bug")
}

/// A request whose answer never comes still has its audit line: dropped before the answer (the
/// client reset the stream or closed the connection; here the caller gives up) it is logged
/// with status 499 and outcome `cancelled`; a handler that panics, with 500 and `error`. Before,
/// both left no line at all, though the handler may have done its work.
#[tokio::test]
async fn a_request_dropped_before_its_answer_or_ended_by_a_panic_still_has_its_line() {
    use std::time::Duration;
    use tower::ServiceExt;

    let path = std::env::temp_dir().join(format!("secure-api-audit-dropped-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log = secure_api::audit::AuditLog::to_file(&path).unwrap();
    let security =
        secure_api::Security::builder().audit(secure_api::audit::AuditConfig::new().log_to(log.clone())).build();
    let app = secure_api::SecureRouter::new()
        .route("/never", secure_api::routing::get(never_answers))
        .route("/panics", secure_api::routing::get(panics))
        .with_state(security);
    let peer = axum::extract::ConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 44], 50000)));

    let mut request = get("/never", &[]);
    request.extensions_mut().insert(peer);
    let given_up = tokio::time::timeout(Duration::from_millis(100), app.clone().oneshot(request)).await;
    assert!(given_up.is_err(), "the handler never answers");

    let mut request = get("/panics", &[]);
    request.extensions_mut().insert(peer);
    let ended = tokio::spawn(app.clone().oneshot(request)).await;
    assert!(ended.is_err_and(|error| error.is_panic()));

    log.flush();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let seen: Vec<_> =
        lines.iter().map(|line| (&line["route"], &line["status"], &line["outcome"], &line["client_ip"])).collect();
    assert_eq!(
        seen,
        [
            (
                &serde_json::json!("/never"),
                &serde_json::json!(499),
                &serde_json::json!("cancelled"),
                &serde_json::json!("192.0.2.44")
            ),
            (
                &serde_json::json!("/panics"),
                &serde_json::json!(500),
                &serde_json::json!("error"),
                &serde_json::json!("192.0.2.44")
            ),
        ],
        "{text}"
    );
    let _ = std::fs::remove_file(&path);
}
