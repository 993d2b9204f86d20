//! Request smuggling (HTTP/1.1 desync), sent as raw bytes the way request-smuggling scanners
//! (Burp's "HTTP Request Smuggler", `smuggler.py`) send them: `Content-Length` against
//! `Transfer-Encoding`, obfuscated `Transfer-Encoding`, repeated or malformed `Content-Length`,
//! bare-LF chunk lines, a chunk extension quoting a CRLF, a body on a `GET`, `Expect: 100-continue`.
//!
//! Each payload carries a second, smuggled request that claims to come from 203.0.113.66
//! (`X-Forwarded-For`), then an ordinary request with `Connection: close`, so the exchange ends
//! when the server or proxy is done with the connection and no read depends on a timer.
//!
//! - Straight to the server (hyper's parser): ambiguous framing is refused with `400`, and a
//!   request with both `Content-Length` and `Transfer-Encoding` is answered once and the
//!   connection closed, as RFC 9112 §6.3 requires; the smuggled request is never answered.
//! - Behind a REAL nginx with a keep-alive pool to the app (the deployment where a desync would
//!   poison other users' requests): other clients' requests are answered as theirs, every
//!   request the app sees is attributed to the attacker's real address, the spoofed address is
//!   never believed, and every smuggled request the app answered was answered to the attacker.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use secure_api_examples::quickstart::{self, Config};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

use crate::common;
use crate::support::nginx::Nginx;

/// Longer than any exchange takes; a connection still open then fails the test.
const GIVE_UP: Duration = Duration::from_secs(5);

/// The address every smuggled request claims.
const SPOOFED: &str = "203.0.113.66";

/// The smuggled request.
fn smuggled() -> String {
    format!("GET /smuggled HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {SPOOFED}\r\n\r\n")
}

/// The request that ends every exchange.
const LAST: &str = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// How a payload frames its body, with the smuggled request where the other parser would
/// start the next request: `(name, head fields and body)` after the request line.
fn framings() -> Vec<(&'static str, String)> {
    let smuggled = smuggled();
    let len = smuggled.len();
    vec![
        ("CL.TE", format!("Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}", 5 + len)),
        ("TE.CL", format!("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\n{smuggled}\r\n0\r\n\r\n")),
        (
            "TE xchunked",
            format!("Transfer-Encoding: xchunked\r\nContent-Length: {}\r\n\r\n0\r\n\r\n{smuggled}", 5 + len),
        ),
        ("TE chunked, identity", format!("Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}")),
        ("TE twice", format!("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n{smuggled}")),
        ("TE space before colon", format!("Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n{smuggled}")),
        ("TE folded", format!("X-Padding: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}")),
        ("CL twice", format!("Content-Length: 0\r\nContent-Length: 5\r\n\r\nAAAAA{smuggled}")),
        ("CL list", format!("Content-Length: 0, 5\r\n\r\nAAAAA{smuggled}")),
        ("CL plus sign", format!("Content-Length: +5\r\n\r\nAAAAA{smuggled}")),
        ("chunk size 0x", format!("Transfer-Encoding: chunked\r\n\r\n0x5\r\nAAAAA\r\n0\r\n\r\n{smuggled}")),
        ("chunk bare LF", format!("Transfer-Encoding: chunked\r\n\r\n5\nAAAAA\n0\n\n{smuggled}")),
        (
            "chunk extension quoting CRLF",
            format!("Transfer-Encoding: chunked\r\n\r\n5;a=\"b\r\n\"\r\nAAAAA\r\n0\r\n\r\n{smuggled}"),
        ),
        ("CL body", format!("Content-Length: {len}\r\n\r\n{smuggled}")),
        ("Expect", format!("Expect: 100-continue\r\nContent-Length: {len}\r\n\r\n{smuggled}")),
    ]
}

/// Sends `bytes` from the loopback address `from` and reads until the peer closes.
async fn exchange(from: &str, addr: SocketAddr, bytes: &[u8]) -> Vec<u16> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    // The peer may close before it read everything (a refused head): not a test failure.
    let _ = tcp.write_all(bytes).await;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + GIVE_UP;
    loop {
        match tokio::time::timeout_at(deadline.into(), tcp.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => panic!("the connection was still open after {GIVE_UP:?}: {}", String::from_utf8_lossy(&received)),
        }
    }
    let text = String::from_utf8_lossy(&received);
    // Status lines only: a response body here never contains "HTTP/1.1 ".
    text.match_indices("HTTP/1.1 ").map(|(at, _)| text[at + 9..at + 12].parse().unwrap()).collect()
}

#[tokio::test]
async fn straight_to_the_server_ambiguous_framing_is_refused_and_never_answers_the_smuggled_request() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(secure_api::serve(listener, common::app()));

    for (name, framing) in framings() {
        let payload = format!("POST /health HTTP/1.1\r\nHost: localhost\r\n{framing}{LAST}");
        let statuses = exchange("127.0.0.1", addr, payload.as_bytes()).await;
        match name {
            // Both length fields: answered once (405: `/health` takes no POST), then closed
            // (RFC 9112 §6.3), so neither the smuggled request nor the last one is answered.
            // Invalid chunk-size lines: the body cannot be skipped, so the connection closes.
            "CL.TE" | "TE.CL" | "chunk size 0x" | "chunk bare LF" | "chunk extension quoting CRLF" => {
                assert_eq!(statuses, [405], "{name}");
            }
            "CL body" => assert_eq!(statuses, [405, 200], "{name}: the body is skipped, not parsed as a request"),
            "Expect" => assert_eq!(statuses, [405, 200], "{name}: answered without a 100, body skipped"),
            // Ambiguous or malformed framing: hyper's bare 400 (README, "Responses"), closed.
            _ => assert_eq!(statuses, [400], "{name}"),
        }
    }
    // The harness sees pipelined answers: a control where the second request is legitimate.
    let statuses =
        exchange("127.0.0.1", addr, format!("GET /health HTTP/1.1\r\nHost: x\r\n\r\n{LAST}").as_bytes()).await;
    assert_eq!(statuses, [200, 200]);
}

#[tokio::test]
async fn behind_nginx_with_keep_alive_upstreams_no_payload_desyncs_the_app() {
    const PROXY: &str = "127.0.0.3";
    const ATTACKER: &str = "127.0.0.2";
    const VICTIM: &str = "127.0.0.4";
    let audit = std::env::temp_dir().join(format!("secure-api-smuggling-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let audit_path = audit.display().to_string();
    let env = [("SECURE_API_TRUSTED_PROXIES", PROXY), ("SECURE_API_AUDIT_FILE", audit_path.as_str())];
    let config =
        Config::from_lookup(|name| env.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned()))
            .expect("a valid quickstart environment")
            .config;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = listener.local_addr().unwrap();
    tokio::spawn(secure_api::serve(listener, quickstart::app(&config).unwrap()));
    // Connections to the app are kept and reused across clients (HTTP/1.1 upstream, no
    // `Connection: close` passed on): a request left half-read would prefix another client's.
    let http = format!("upstream app {{ server {app}; keepalive 8; }}");
    let server = format!(
        "location / {{\n\
           proxy_pass http://app;\n\
           proxy_http_version 1.1;\n\
           proxy_set_header Connection \"\";\n\
           proxy_bind {PROXY};\n\
           proxy_set_header Host $host;\n\
           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
           proxy_set_header X-Forwarded-Proto $scheme;\n\
         }}\n"
    );
    let Some(nginx) = Nginx::start_with_http("smuggling::behind_nginx", &http, &server) else {
        return;
    };
    let victim =
        reqwest::Client::builder().local_address(VICTIM.parse::<IpAddr>().unwrap()).no_proxy().build().unwrap();

    let mut smuggled_answers = 0;
    let mut victim_requests = 0;
    // Fronts the app answers without reading the body (405, 401) and one that reads it.
    for front in ["POST /health", "POST /api/items", "POST /oauth/token", "GET /health"] {
        for (name, framing) in framings() {
            let payload = format!("{front} HTTP/1.1\r\nHost: localhost\r\n{framing}{LAST}");
            let statuses = exchange(ATTACKER, nginx.addr(), payload.as_bytes()).await;
            // The smuggled path is the app's 404; `/health`, `/api/items` and the token
            // endpoint never answer 404.
            smuggled_answers += statuses.iter().filter(|status| **status == 404).count();
            for _ in 0..2 {
                let response = victim.get(format!("{}/health", nginx.url())).send().await.unwrap();
                let status = response.status();
                let body = response.text().await.unwrap();
                assert_eq!((status.as_u16(), body.as_str()), (200, r#"{"status":"ok"}"#), "{front} {name}: a victim");
                victim_requests += 1;
            }
        }
    }

    // Every line the app wrote, once the audit writer has written them.
    let deadline = Instant::now() + GIVE_UP;
    let lines: Vec<Value> = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        let victims = lines.iter().filter(|line| line["client_ip"] == VICTIM).count();
        if victims >= victim_requests || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = std::fs::remove_file(&audit);
    let seen_as = |ip: &str| lines.iter().filter(|line| line["client_ip"] == ip).collect::<Vec<_>>();
    assert!(seen_as(SPOOFED).is_empty(), "the smuggled X-Forwarded-For was believed: {:?}", seen_as(SPOOFED));
    let victims = seen_as(VICTIM);
    assert_eq!(victims.len(), victim_requests);
    assert!(victims.iter().all(|line| line["path"] == "/health" && line["status"] == 200), "{victims:?}");
    assert_eq!(seen_as(ATTACKER).len() + victims.len(), lines.len(), "a line from neither client: {lines:?}");
    let smuggled_seen = lines.iter().filter(|line| line["path"] == "/smuggled").count();
    assert_eq!(smuggled_seen, smuggled_answers, "every smuggled request the app saw was answered to the attacker");
    println!("behind nginx: {smuggled_seen} smuggled requests reached the app, all as the attacker's own");
}
