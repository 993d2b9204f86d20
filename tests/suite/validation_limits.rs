//! The body limit is enforced while reading, and no body is read at all for a caller that
//! authentication or authorization refused. Bodies here are streams that count what was pulled
//! from them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use bytes::Bytes;
use http::Request;
use serde_json::json;

use crate::common::{self, assert_problem, bearer, send};

const CHUNK: usize = 8 * 1024;

/// A body of `chunks` chunks of `CHUNK` bytes that counts how many were pulled.
fn counting_body(chunks: usize) -> (Body, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let stream = futures_util::stream::iter(0..chunks).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; CHUNK]))
    });
    (Body::from_stream(stream), pulled)
}

use futures_util::StreamExt;

fn post_items(body: Body, authorization: Option<String>, content_length: Option<usize>) -> Request<Body> {
    let mut builder = Request::post("/api/items").header("content-type", "application/json");
    if let Some(authorization) = authorization {
        builder = builder.header("authorization", authorization);
    }
    if let Some(length) = content_length {
        builder = builder.header("content-length", length.to_string());
    }
    builder.body(body).unwrap()
}

#[tokio::test]
async fn declared_2_mib_body_is_refused_before_reading_a_byte() {
    let app = common::app();
    let (body, pulled) = counting_body(256); // 2 MiB
    let token = bearer(&common::token("items:write"));
    let reply = send(&app, post_items(body, Some(token), Some(256 * CHUNK))).await;
    assert_problem(&reply, 413);
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "no chunk may be read when Content-Length is too large");
}

#[tokio::test]
async fn streamed_2_mib_body_is_cut_off_at_the_limit() {
    let app = common::app();
    let (body, pulled) = counting_body(256); // 2 MiB, no Content-Length (chunked)
    let token = bearer(&common::token("items:write"));
    let reply = send(&app, post_items(body, Some(token), None)).await;
    assert_problem(&reply, 413);
    // 16 KiB limit: two chunks fit, the third crosses it; nothing after that is pulled.
    let read = pulled.load(Ordering::SeqCst);
    assert!(read <= 16 * 1024 / CHUNK + 1, "pulled {read} chunks of a 256-chunk body");
}

#[tokio::test]
async fn no_body_is_read_for_a_caller_without_credentials() {
    let app = common::app();
    let (body, pulled) = counting_body(4);
    let reply = send(&app, post_items(body, None, None)).await;
    assert_problem(&reply, 401);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_body_is_read_for_a_bad_token() {
    let app = common::app();
    let (body, pulled) = counting_body(4);
    let reply = send(&app, post_items(body, Some("Bearer not-a-jwt".to_owned()), None)).await;
    assert_problem(&reply, 401);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_body_is_read_for_a_caller_without_the_scope() {
    let app = common::app();
    let (body, pulled) = counting_body(4);
    let read_only = bearer(&common::token("items:read"));
    let reply = send(&app, post_items(body, Some(read_only), None)).await;
    assert_problem(&reply, 403);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_invalid_body_from_an_unauthorized_caller_gets_the_auth_error() {
    // Validation never runs before authorization: the 403 wins over the 422 this body deserves.
    let app = common::app();
    let request = common::post_json(
        "/api/items",
        &json!({"name": "", "extra": 1}),
        &[("authorization", &bearer(&common::token("items:read")))],
    );
    assert_problem(&send(&app, request).await, 403);
}

/// Over a real socket: the client announces 2 MiB and sends only the headers and a few bytes;
/// the 413 arrives without the server waiting for (or reading) the rest.
#[tokio::test]
async fn over_a_socket_413_comes_back_before_the_body_is_sent() {
    use std::io::{Read, Write};
    use std::time::Duration;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(secure_api::serve(listener, common::app()));
    let token = common::token("items:write");
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /api/items HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{{\"name\": ",
            2 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read until the complete head and body of the problem are in (or the server closes).
        while !String::from_utf8_lossy(&response).contains("\"status\":413") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => response.extend_from_slice(&buffer[..read]),
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    server.abort();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
}
