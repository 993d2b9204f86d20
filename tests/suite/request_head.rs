//! Oversized request heads (issue 15 §6): what the framework answers itself (414 / 431
//! problem+json with the security headers and an audit line) and what the HTTP parser (hyper)
//! still answers bare, over a real loopback socket with raw bytes.

use std::time::Duration;

use axum::body::Body;
use http::Method;
use secure_api::testing::request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{self, assert_problem, send};

/// Serves the quickstart on a free loopback port.
async fn start() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(secure_api::serve(listener, common::app()));
    addr
}

/// The raw response head to `bytes` (up to the blank line), lower-cased; the connection is
/// read for at most 5 s.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read everything: ignore write errors.
    let _ = stream.write_all(bytes).await;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !received.windows(4).any(|window| window == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => received.extend_from_slice(&buffer[..read]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&received).to_ascii_lowercase();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

fn get_with(target: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nhost: localhost\r\n{extra_headers}connection: close\r\n\r\n").into_bytes()
}

fn assert_framework_answer(head: &str, status: &str) {
    assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
    assert!(head.contains("content-type: application/problem+json"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert!(head.contains("x-request-id: "), "{head}");
}

#[tokio::test]
async fn a_long_request_target_is_the_frameworks_414_over_a_socket() {
    let addr = start().await;
    let long = format!("/health?q={}", "a".repeat(20 * 1024));
    assert_framework_answer(&exchange(addr, &get_with(&long, "")).await, "414");
    // Just under the limit is served.
    let fits = format!("/health?q={}", "a".repeat(16 * 1024 - "/health?q=".len()));
    assert!(exchange(addr, &get_with(&fits, "")).await.starts_with("http/1.1 200"));
}

#[tokio::test]
async fn a_large_header_section_is_the_frameworks_431_over_a_socket() {
    let addr = start().await;
    let big: String = (0..5).map(|index| format!("x-filler-{index}: {}\r\n", "b".repeat(8 * 1024))).collect();
    assert_framework_answer(&exchange(addr, &get_with("/health", &big)).await, "431");
    let normal: String = (0..3).map(|index| format!("x-filler-{index}: {}\r\n", "b".repeat(8 * 1024))).collect();
    assert!(exchange(addr, &get_with("/health", &normal)).await.starts_with("http/1.1 200"));
}

#[tokio::test]
async fn too_many_header_fields_are_the_frameworks_431_over_a_socket() {
    // hyper's own field limit is set above the framework's (128 against 100), so a 101st field
    // gets the framework's answer, with the security headers.
    let addr = start().await;
    let fields: String = (0..101).map(|index| format!("x-n{index}: 1\r\n")).collect();
    assert_framework_answer(&exchange(addr, &get_with("/health", &fields)).await, "431");
    let fits: String = (0..90).map(|index| format!("x-n{index}: 1\r\n")).collect();
    assert!(exchange(addr, &get_with("/health", &fits)).await.starts_with("http/1.1 200"));
}

#[tokio::test]
async fn too_many_header_fields_are_the_frameworks_431() {
    // Through `oneshot` too (no parser in front).
    let fields: Vec<(String, String)> = (0..101).map(|index| (format!("x-n{index}"), "1".to_owned())).collect();
    let headers: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let reply = send(&common::app(), request(Method::GET, "/health", &headers, Body::empty())).await;
    assert_problem(&reply, 431);
    assert_eq!(reply.body["max_headers"], 100);
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
}

/// What hyper still answers itself, before the app sees a request: the statuses are pinned
/// here so the README's list stays true. These responses carry no security headers and no
/// audit line (a parser error has no request to hand to the app).
#[tokio::test]
async fn what_the_parser_still_answers_itself() {
    let addr = start().await;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("bad Content-Length", b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-length: 1x\r\n\r\n".to_vec(), "400"),
        (
            "two different Content-Lengths",
            b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab".to_vec(),
            "400",
        ),
        ("a request target over 64 KiB", get_with(&format!("/health?q={}", "a".repeat(70 * 1024)), ""), "414"),
        (
            "more than 128 header fields",
            get_with("/health", &(0..130).map(|index| format!("x-n{index}: 1\r\n")).collect::<String>()),
            "431",
        ),
        (
            "a header section over hyper's buffer",
            get_with("/health", &format!("x-big: {}\r\n", "c".repeat(500 * 1024))),
            "431",
        ),
    ];
    for (case, bytes, status) in cases {
        let head = exchange(addr, &bytes).await;
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{case}: {head}");
    }
}
