//! Connections held open by a client, over real loopback sockets, on every listener kind (plain
//! HTTP, HTTPS, the HTTP->HTTPS redirect listener; HTTP/1.1 and HTTP/2): each slow or silent
//! connection is closed within its configured timeout, and the connection caps keep one
//! address from starving the others.
//!
//! Every timeout under test is `SHORT` (300 ms) and the others are `LONG` (5 s), so a close
//! within `SHORT + SLACK` proves which timer did it. Reads are bounded by `GIVE_UP`: on a server
//! without the timer, a test fails there instead of hanging.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use secure_api::{serve::ConnectionLimits, serve::HttpsRedirect, serve::ServeOptions, tls::TlsConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

use crate::common;

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(5);
/// Scheduling on a busy 2-core CI machine, plus the 1 s the server gives a connection to close
/// after its idle timer fired.
const SLACK: Duration = Duration::from_millis(2000);
/// Longer than any timer under test, shorter than any `LONG` one.
const GIVE_UP: Duration = Duration::from_millis(4000);

/// Options where every timer is `LONG`: each test shortens the one it checks.
fn long_options() -> ServeOptions {
    ServeOptions::default()
        .header_read_timeout(LONG)
        .idle_timeout(LONG)
        .body_read_timeout(LONG)
        .tls_handshake_timeout(LONG)
        .shutdown_grace(Duration::from_millis(500))
}

/// A server on a loopback port; dropping it shuts the server down.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

enum Kind {
    Plain,
    Tls(TlsConfig),
    Redirect(HttpsRedirect),
}

async fn start(kind: Kind, options: ServeOptions) -> Server {
    start_app(kind, options, common::app()).await
}

async fn start_app(kind: Kind, options: ServeOptions, app: secure_api::SecureApp) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async {
        let _ = stopped.await;
    };
    match kind {
        Kind::Plain => drop(tokio::spawn(secure_api::serve::serve_with(listener, app, options, signal))),
        Kind::Tls(tls) => drop(tokio::spawn(secure_api::tls::serve_tls_with(listener, app, tls, options, signal))),
        Kind::Redirect(to) => {
            drop(tokio::spawn(secure_api::serve::redirect_http_to_https_with(listener, to, options, signal)));
        }
    }
    Server { addr, _stop: stop }
}

struct Cert {
    tls: TlsConfig,
    der: CertificateDer<'static>,
}

fn cert() -> Cert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let tls =
        TlsConfig::from_pem(generated.cert.pem().as_bytes(), generated.signing_key.serialize_pem().as_bytes()).unwrap();
    Cert { tls, der: generated.cert.der().clone() }
}

async fn tls_connect(cert: &Cert, addr: SocketAddr, alpn: &[&[u8]]) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.expect("TLS handshake")
}

/// Connects to `addr` from the loopback address `from` (127.0.0.2 is a second client).
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Reads until the server closes the connection (end of stream or reset); returns what was
/// read and when the close came. Fails if it has not come within `GIVE_UP`.
async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin), since: Instant) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(GIVE_UP, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(closed.is_ok(), "the server kept the connection open past {GIVE_UP:?}; received: {text:?}");
    (text, since.elapsed())
}

/// The close came from the timer set to `timeout`: not before it, and within it plus slack.
fn assert_closed_by(elapsed: Duration, timeout: Duration) {
    assert!(elapsed + Duration::from_millis(50) >= timeout, "closed after {elapsed:?}, before the {timeout:?} timer");
    assert!(elapsed <= timeout + SLACK, "closed after {elapsed:?}, expected within {timeout:?} + slack");
}

/// Sends one keep-alive `GET /health` on `stream` and reads the whole response.
async fn health_keep_alive(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), host: &str) -> String {
    stream.write_all(format!("GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(GIVE_UP, async {
        while !String::from_utf8_lossy(&received).ends_with("{\"status\":\"ok\"}") {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "closed before the response: {:?}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("the response arrives");
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

// ---- plain HTTP ----

#[tokio::test]
async fn plain_a_connection_that_sends_nothing_is_closed_within_the_header_timeout() {
    let server = start(Kind::Plain, long_options().header_read_timeout(SHORT)).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (received, elapsed) = read_until_closed(&mut stream, since).await;
    assert_closed_by(elapsed, SHORT);
    assert!(!received.contains("200"), "{received}");
}

#[tokio::test]
async fn plain_slowloris_partial_headers_are_closed_within_the_header_timeout() {
    let server = start(Kind::Plain, long_options().header_read_timeout(SHORT)).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One more header byte every 50 ms: the client is never silent, but never finishes the head.
    let dripping = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b"X").await.is_err() {
                return;
            }
        }
    });
    let (received, elapsed) = read_until_closed(&mut reader, since).await;
    dripping.abort();
    assert_closed_by(elapsed, SHORT);
    assert!(!received.contains("200 OK"), "{received}");
}

#[tokio::test]
async fn plain_a_body_that_never_completes_is_answered_and_closed_within_the_body_timeout() {
    let server = start(Kind::Plain, long_options().body_read_timeout(SHORT)).await;
    for (path, authorization) in [
        // A public route that reads its body (the token endpoint) ...
        ("/oauth/token", String::new()),
        // ... and a validated route, through the framework's body reader.
        ("/api/items", format!("Authorization: {}\r\n", common::bearer(&common::token("items:write")))),
    ] {
        let since = Instant::now();
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"{\"name\": \"x").await.unwrap(); // 11 of the 100 bytes
        let (received, elapsed) = read_until_closed(&mut stream, since).await;
        assert_closed_by(elapsed, SHORT);
        assert!(received.starts_with("HTTP/1.1 4"), "{path}: a client error answers the slow body: {received}");
        if path == "/api/items" {
            // The framework's body reader names the cause: 408 problem+json, not "not JSON".
            assert!(received.starts_with("HTTP/1.1 408"), "{received}");
            assert!(received.contains("application/problem+json"), "{received}");
        }
        assert!(!received.contains("201 Created"), "{received}");
    }
}

#[tokio::test]
async fn plain_an_idle_keep_alive_connection_is_closed_within_the_idle_timeout() {
    let server = start(Kind::Plain, long_options().idle_timeout(SHORT)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let reply = health_keep_alive(&mut stream, "localhost").await;
    assert!(!reply.to_ascii_lowercase().contains("connection: close"), "kept alive: {reply}");
    let since = Instant::now();
    let (received, elapsed) = read_until_closed(&mut stream, since).await;
    assert_closed_by(elapsed, SHORT);
    assert_eq!(received, "");
}

#[tokio::test]
async fn plain_http2_prior_knowledge_idle_connections_are_closed() {
    // Before any request: the header-read timeout.
    let server = start(Kind::Plain, long_options().header_read_timeout(SHORT)).await;
    let since = Instant::now();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (_sender, connection) =
        hyper::client::conn::http2::handshake::<_, _, axum::body::Body>(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::time::timeout(GIVE_UP, connection).await.expect("the server closed the silent HTTP/2 connection").ok();
    assert_closed_by(since.elapsed(), SHORT);

    // After a request: the idle timeout.
    let server = start(Kind::Plain, long_options().idle_timeout(SHORT)).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/health", server.addr)).body(axum::body::Body::empty()).unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let since = Instant::now();
    tokio::time::timeout(GIVE_UP, connection).await.expect("the server closed the idle HTTP/2 connection").ok();
    assert_closed_by(since.elapsed(), SHORT);
}

#[tokio::test]
async fn plain_http2_a_stream_that_never_sends_its_body_is_answered_within_the_body_timeout() {
    let server = start(Kind::Plain, long_options().body_read_timeout(SHORT).idle_timeout(SHORT)).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    let connection = tokio::spawn(connection);
    // A body that is never sent.
    let body = futures_util::stream::pending::<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>();
    let request = http::Request::post(format!("http://{}/oauth/token", server.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::StreamBody::new(body))
        .unwrap();
    let since = Instant::now();
    let response = tokio::time::timeout(GIVE_UP, sender.send_request(request)).await.expect("answered").unwrap();
    assert_closed_by(since.elapsed(), SHORT);
    assert_eq!(response.status(), 400, "the token endpoint refuses the unfinished body");
    let _ = response.into_body().collect().await;
    // Then nothing is in flight: the idle timer closes the connection.
    tokio::time::timeout(GIVE_UP, connection).await.expect("the server closed the HTTP/2 connection").ok();
}

// ---- HTTPS ----

#[tokio::test]
async fn tls_a_handshake_never_started_is_closed_within_the_handshake_timeout() {
    let cert = cert();
    let server = start(Kind::Tls(cert.tls.clone()), long_options().tls_handshake_timeout(SHORT)).await;
    let since = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let (received, elapsed) = read_until_closed(&mut stream, since).await;
    assert_closed_by(elapsed, SHORT);
    assert_eq!(received, "");
}

#[tokio::test]
async fn tls_a_handshake_done_then_nothing_is_closed_within_the_header_timeout() {
    let cert = cert();
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let server = start(Kind::Tls(cert.tls.clone()), long_options().header_read_timeout(SHORT)).await;
        let mut tls = tls_connect(&cert, server.addr, &[alpn]).await;
        let since = Instant::now();
        let (received, elapsed) = read_until_closed(&mut tls, since).await;
        assert_closed_by(elapsed, SHORT);
        assert!(!received.contains("200"), "{received}");
    }
}

#[tokio::test]
async fn tls_slowloris_partial_headers_are_closed_within_the_header_timeout() {
    let cert = cert();
    let server = start(Kind::Tls(cert.tls.clone()), long_options().header_read_timeout(SHORT)).await;
    let mut tls = tls_connect(&cert, server.addr, &[b"http/1.1"]).await;
    let since = Instant::now();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
    let (received, elapsed) = read_until_closed(&mut tls, since).await;
    assert_closed_by(elapsed, SHORT);
    assert!(!received.contains("200"), "{received}");
}

#[tokio::test]
async fn tls_idle_http11_and_http2_connections_are_closed_within_the_idle_timeout() {
    let cert = cert();
    let server = start(Kind::Tls(cert.tls.clone()), long_options().idle_timeout(SHORT)).await;
    let mut tls = tls_connect(&cert, server.addr, &[b"http/1.1"]).await;
    let reply = health_keep_alive(&mut tls, "localhost").await;
    assert!(reply.to_ascii_lowercase().contains("strict-transport-security"), "{reply}");
    let since = Instant::now();
    let (_, elapsed) = read_until_closed(&mut tls, since).await;
    assert_closed_by(elapsed, SHORT);

    let tls = tls_connect(&cert, server.addr, &[b"h2"]).await;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("https://localhost:{}/health", server.addr.port()))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!((response.status(), response.version()), (http::StatusCode::OK, http::Version::HTTP_2));
    let since = Instant::now();
    tokio::time::timeout(GIVE_UP, connection).await.expect("the server closed the idle h2 connection").ok();
    assert_closed_by(since.elapsed(), SHORT);
}

#[tokio::test]
async fn tls_a_body_that_never_completes_is_closed_within_the_body_timeout() {
    let cert = cert();
    let server = start(Kind::Tls(cert.tls.clone()), long_options().body_read_timeout(SHORT)).await;
    let mut tls = tls_connect(&cert, server.addr, &[b"http/1.1"]).await;
    let since = Instant::now();
    tls.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\ngrant_type=")
        .await
        .unwrap();
    let (received, elapsed) = read_until_closed(&mut tls, since).await;
    assert_closed_by(elapsed, SHORT);
    assert!(received.starts_with("HTTP/1.1 400"), "{received}");
}

// ---- the HTTP->HTTPS redirect listener ----

fn redirect_target() -> HttpsRedirect {
    HttpsRedirect::to("localhost:8443").unwrap()
}

#[tokio::test]
async fn redirect_listener_closes_silent_slow_and_idle_connections() {
    let server = start(Kind::Redirect(redirect_target()), long_options().header_read_timeout(SHORT)).await;
    let since = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let (_, elapsed) = read_until_closed(&mut silent, since).await;
    assert_closed_by(elapsed, SHORT);

    let since = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: local").await.unwrap();
    let (received, elapsed) = read_until_closed(&mut slow, since).await;
    assert_closed_by(elapsed, SHORT);
    assert!(!received.contains("308"), "{received}");

    let server = start(Kind::Redirect(redirect_target()), long_options().idle_timeout(SHORT)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /a?b=1 HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buffer = [0u8; 2048];
    let n = tokio::time::timeout(GIVE_UP, idle.read(&mut buffer)).await.unwrap().unwrap();
    let reply = String::from_utf8_lossy(&buffer[..n]).to_ascii_lowercase();
    assert!(reply.starts_with("http/1.1 308"), "{reply}");
    let since = Instant::now();
    let (_, elapsed) = read_until_closed(&mut idle, since).await;
    assert_closed_by(elapsed, SHORT);
}

/// One raw request to the redirect listener, on a fresh connection; the reply, lower-cased.
async fn redirect_reply(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = tokio::time::timeout(GIVE_UP, stream.read(&mut buffer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buffer[..n]).to_ascii_lowercase()
}

#[tokio::test]
async fn redirect_listener_goes_only_to_the_public_host_and_is_never_cached() {
    let server = start(Kind::Redirect(redirect_target()), long_options()).await;
    let reply = redirect_reply(server.addr, "POST /api/items?page=2 HTTP/1.1\r\nHost: LOCALHOST:80\r\n\r\n").await;
    assert!(reply.starts_with("http/1.1 308"), "{reply}");
    assert!(reply.contains("location: https://localhost:8443/api/items?page=2\r\n"), "{reply}");
    for header in [
        "cache-control: no-store",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: no-referrer",
    ] {
        assert!(reply.contains(header), "{header}: {reply}");
    }
    assert!(!reply.contains("strict-transport-security"), "never HSTS over plain HTTP: {reply}");

    for request in [
        "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: evil.example\r\nHost: localhost\r\n\r\n",
    ] {
        let reply = redirect_reply(server.addr, request).await;
        // hyper itself may refuse a malformed request with a bare 400; ours is problem+json.
        assert!(reply.starts_with("http/1.1 400"), "{request:?}: {reply}");
        assert!(!reply.contains("location:"), "{request:?}: {reply}");
        assert!(reply.contains("cache-control: no-store"), "{request:?}: {reply}");
        assert!(reply.contains("application/problem+json"), "{request:?}: {reply}");
    }
}

// ---- connection caps ----

/// A connection the server refused: closed at once, without an answer.
async fn assert_refused(mut stream: TcpStream) {
    let since = Instant::now();
    let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let (received, elapsed) = read_until_closed(&mut stream, since).await;
    assert_eq!(received, "", "a refused connection gets no answer");
    assert!(elapsed < Duration::from_millis(1500), "refused at once, not after a timer: {elapsed:?}");
}

#[tokio::test]
async fn connections_held_from_one_address_do_not_stop_another_address() {
    let limits = ConnectionLimits::default().max_connections(100).max_per_client(3);
    let server = start(Kind::Plain, long_options().connection_limits(limits)).await;
    // 127.0.0.1 takes its three places and holds them (each served once, then kept alive).
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from([127, 0, 0, 1], server.addr).await;
        health_keep_alive(&mut stream, "localhost").await;
        held.push(stream);
    }
    // A fourth from the same address is refused ...
    assert_refused(connect_from([127, 0, 0, 1], server.addr).await).await;
    // ... while another address is served as usual.
    let mut other = connect_from([127, 0, 0, 2], server.addr).await;
    health_keep_alive(&mut other, "localhost").await;
    // A place given back is a place to take again.
    drop(held.pop());
    assert_place_given_back([127, 0, 0, 1], server.addr, "the freed place").await;
}

/// A new connection from `from` is served within `GIVE_UP`: a place was given back.
async fn assert_place_given_back(from: [u8; 4], addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + GIVE_UP;
    loop {
        let mut stream = connect_from(from, addr).await;
        if stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.is_ok() {
            let mut buffer = [0u8; 64];
            if matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {
                assert!(buffer.starts_with(b"HTTP/1.1 200"));
                return;
            }
        }
        assert!(Instant::now() < deadline, "{what} was never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A handler that takes its connection over (an HTTP/1.1 `Upgrade`, as a WebSocket handler
/// does) and echoes what it reads until the client closes.
#[secure_api::public]
async fn take_over(mut request: axum::extract::Request) -> axum::response::Response {
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut io = TokioIo::new(upgraded);
        let mut buffer = [0u8; 64];
        while let Ok(read @ 1..) = io.read(&mut buffer).await {
            if io.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    });
    let switching = http::Response::builder()
        .status(http::StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::CONNECTION, "upgrade")
        .header(http::header::UPGRADE, "echo");
    switching.body(axum::body::Body::empty()).unwrap()
}

/// Upgrades a new connection from `from` to the echo protocol and checks that it echoes.
async fn upgraded_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let mut stream = connect_from(from, addr).await;
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(GIVE_UP, stream.read(&mut byte)).await.expect("the 101 in time").unwrap();
        assert_eq!(read, 1, "closed before the end of the head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    // The security layer saw the request: its headers are on the 101.
    assert!(head.contains("x-content-type-options: nosniff") && head.contains("x-request-id:"), "{head}");
    stream.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    tokio::time::timeout(GIVE_UP, stream.read_exact(&mut echo)).await.expect("the echo in time").unwrap();
    assert_eq!(&echo, b"ping");
    stream
}

/// A connection handed over to the application (an HTTP/1.1 upgrade: WebSockets) is still an
/// open socket from its client: it keeps its place under the caps until it closes, so upgrading
/// is no way around them.
#[tokio::test]
async fn upgraded_connections_keep_their_place_under_the_caps() {
    let limits = ConnectionLimits::default().max_connections(100).max_per_client(2);
    let app = secure_api::SecureRouter::new()
        .route("/echo", secure_api::routing::get(take_over))
        .route("/health", secure_api::routing::get(upgrade_health))
        .with_state(secure_api::Security::builder().build());
    let server = start_app(Kind::Plain, long_options().connection_limits(limits), app).await;
    let mut upgraded = vec![upgraded_from([127, 0, 0, 1], server.addr).await];
    upgraded.push(upgraded_from([127, 0, 0, 1], server.addr).await);
    // Both places are held by the upgraded connections: a third is refused ...
    assert_refused(connect_from([127, 0, 0, 1], server.addr).await).await;
    // ... another address is not ...
    let mut other = connect_from([127, 0, 0, 2], server.addr).await;
    health_keep_alive(&mut other, "localhost").await;
    // ... and closing one gives its place back.
    drop(upgraded.pop());
    assert_place_given_back([127, 0, 0, 1], server.addr, "the upgraded connection's place").await;
}

/// The quickstart's `/health` answer, for `health_keep_alive`.
#[secure_api::public]
async fn upgrade_health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

#[tokio::test]
async fn the_total_cap_refuses_connections_beyond_it() {
    let limits = ConnectionLimits::default().max_connections(3).max_per_client(10);
    let server = start(Kind::Plain, long_options().connection_limits(limits)).await;
    let mut held = Vec::new();
    for from in [[127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 2]] {
        let mut stream = connect_from(from, server.addr).await;
        health_keep_alive(&mut stream, "localhost").await;
        held.push(stream);
    }
    assert_refused(connect_from([127, 0, 0, 3], server.addr).await).await;
    assert_refused(connect_from([127, 0, 0, 1], server.addr).await).await;
}

#[tokio::test]
async fn tls_connections_over_the_cap_are_refused_before_the_handshake() {
    let cert = cert();
    let limits = ConnectionLimits::default().max_per_client(1);
    let server = start(Kind::Tls(cert.tls.clone()), long_options().connection_limits(limits)).await;
    let mut first = tls_connect(&cert, server.addr, &[b"http/1.1"]).await;
    health_keep_alive(&mut first, "localhost").await;
    assert_refused(TcpStream::connect(server.addr).await.unwrap()).await;
    let mut other = {
        let tcp = connect_from([127, 0, 0, 2], server.addr).await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der.clone()).unwrap();
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("another address completes its handshake")
    };
    health_keep_alive(&mut other, "localhost").await;
}

#[test]
fn refused_connections_are_logged_once_per_interval_not_once_each() {
    common::run_alone("connections::refused_connections_are_logged_once_per_interval_alone");
}

#[tokio::test]
#[ignore = "run in its own process by refused_connections_are_logged_once_per_interval_not_once_each"]
async fn refused_connections_are_logged_once_per_interval_alone() {
    let captured = common::Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let limits = ConnectionLimits::default().max_per_client(1);
    let server = start(Kind::Plain, long_options().connection_limits(limits)).await;
    let mut held = TcpStream::connect(server.addr).await.unwrap();
    health_keep_alive(&mut held, "localhost").await;
    for _ in 0..30 {
        assert_refused(TcpStream::connect(server.addr).await.unwrap()).await;
    }
    let text = captured.text();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("connections refused")).collect();
    assert_eq!(lines.len(), 1, "one line for 30 refusals within the interval:\n{text}");
    assert!(lines[0].contains("WARN") && lines[0].contains("max_per_client=1"), "{}", lines[0]);
}

/// The quickstart's configured options (`SECURE_API_HEADER_TIMEOUT_SECS`, ...) reach its
/// listener through `quickstart::serve_with`.
#[tokio::test]
async fn the_quickstart_serves_with_its_configured_timeouts_and_caps() {
    use secure_api_examples::quickstart::{self, Config, Transport};

    let loaded = Config::from_lookup(|name| match name {
        "SECURE_API_HEADER_TIMEOUT_SECS" => Some("0.3".to_owned()),
        "SECURE_API_MAX_CONNECTIONS_PER_IP" => Some("1".to_owned()),
        _ => None,
    })
    .unwrap();
    let config = Config { serve_options: loaded.config.serve_options.shutdown_grace(SHORT), ..common::config() };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, stopped) = oneshot::channel::<()>();
    let app = quickstart::app(&config).unwrap();
    tokio::spawn(async move {
        quickstart::serve_with(&config, Transport::Http, app, listener, None, async {
            let _ = stopped.await;
        })
        .await
    });
    let since = Instant::now();
    let mut silent = connect_from([127, 0, 0, 1], addr).await;
    // The second connection from the same address is over the cap of 1.
    assert_refused(connect_from([127, 0, 0, 1], addr).await).await;
    let (_, elapsed) = read_until_closed(&mut silent, since).await;
    assert_closed_by(elapsed, SHORT);
}

// ---- clients that stop reading ----

/// A client that pipelines requests and never reads the answers (slowhttptest's "slow read"):
/// once the socket buffers are full, the server's writes make no progress and the connection
/// would stay "in flight" for good, holding its place under the caps. It is closed within the
/// response-write timeout, and its place is given back.
#[tokio::test]
async fn plain_a_client_that_stops_reading_is_closed_within_the_write_timeout() {
    let server = start(Kind::Plain, stops_reading_options()).await;
    let stream = small_window_connect(server.addr).await;
    assert_stopped_reader_is_closed(stream, server.addr).await;
}

#[tokio::test]
async fn tls_a_client_that_stops_reading_is_closed_within_the_write_timeout() {
    let cert = cert();
    let server = start(Kind::Tls(cert.tls.clone()), stops_reading_options()).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = small_window_connect(server.addr).await;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    assert_stopped_reader_is_closed(tls, server.addr).await;
}

/// One connection per client address, every timer `LONG` but the response-write one.
fn stops_reading_options() -> ServeOptions {
    let limits = ConnectionLimits::default().max_connections(100).max_per_client(1);
    long_options().response_write_timeout(SHORT).connection_limits(limits)
}

/// A connection from 127.0.0.1 with a 4 KiB receive buffer: a small window fills at once.
async fn small_window_connect(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Pipelines `GET /health` on `stream` without reading; the address's one place must be free
/// again (the server closed `stream`) within `GIVE_UP`.
async fn assert_stopped_reader_is_closed(stream: impl AsyncRead + AsyncWrite + Send + 'static, addr: SocketAddr) {
    let (mut never_read, mut writes) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
        let mut sent = 0usize;
        // Until the server stops reading (its writes are stuck) or closes the connection.
        while sent < 200_000 && writes.write_all(request).await.is_ok() {
            sent += 1;
        }
        sent
    });
    let since = Instant::now();
    let freed = place_freed(addr, since).await;
    let sent = tokio::time::timeout(GIVE_UP, writer).await.expect("the writer ended").unwrap();
    let mut left = Vec::new();
    let read = tokio::time::timeout(GIVE_UP, never_read.read_to_end(&mut left)).await;
    assert!(read.is_ok(), "the stopped reader's connection is closed");
    eprintln!("{sent} requests pipelined; the place was free again after {freed:?}");
    assert!(freed >= SHORT, "closed after {freed:?}, before the {SHORT:?} timer");
}

/// 127.0.0.1's one place is taken: a second connection from it is refused, until the server
/// has closed the first (within `GIVE_UP` of `since`); returns when that was.
async fn place_freed(addr: SocketAddr, since: Instant) -> Duration {
    assert_refused(connect_from([127, 0, 0, 1], addr).await).await;
    loop {
        let mut stream = connect_from([127, 0, 0, 1], addr).await;
        if stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.is_ok() {
            let mut buffer = [0u8; 64];
            if matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {
                // Plain HTTP answers; a TLS listener answers plain bytes with a TLS alert.
                break;
            }
        }
        assert!(since.elapsed() < GIVE_UP, "the connection that stopped reading kept its place");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    since.elapsed()
}

/// The HTTP/2 form of a client that stops reading: it grants no flow-control window, so the
/// server cannot send a byte of the body while the connection stays healthy (the socket
/// takes writes, PINGs are answered). Closed within the response-write timeout too.
#[tokio::test]
async fn plain_http2_a_client_that_grants_no_window_is_closed_within_the_write_timeout() {
    let server = start(Kind::Plain, stops_reading_options()).await;
    let tcp = connect_from([127, 0, 0, 1], server.addr).await;
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/health", server.addr)).body(axum::body::Body::empty()).unwrap();
    let response = tokio::time::timeout(GIVE_UP, sender.send_request(request)).await.expect("answered").unwrap();
    assert_eq!(response.status(), 200);
    // The head came; the body cannot.
    let since = Instant::now();
    let freed = place_freed(server.addr, since).await;
    assert!(freed >= SHORT, "closed after {freed:?}, before the {SHORT:?} timer");
    tokio::time::timeout(GIVE_UP, connection).await.expect("the server closed the connection").ok();
    drop(response);
}

/// A response that streams: a chunk, then nothing for three write timeouts, then the rest.
#[secure_api::public]
async fn slow_stream() -> axum::body::Body {
    let chunks = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"first;")), 1)),
            1 => {
                tokio::time::sleep(SHORT * 3).await;
                Some((Ok(bytes::Bytes::from_static(b"last")), 2))
            }
            _ => None,
        }
    });
    axum::body::Body::from_stream(chunks)
}

/// The write timeout is about the client: a response waiting for its own next chunk (a
/// stream, server-sent events) is not stalled, on HTTP/1.1 or HTTP/2.
#[tokio::test]
async fn a_response_waiting_for_its_own_data_is_not_closed_by_the_write_timeout() {
    let app = secure_api::SecureRouter::new()
        .route("/stream", secure_api::routing::get(slow_stream))
        .with_state(secure_api::Security::builder().build());
    let server = start_app(Kind::Plain, stops_reading_options(), app).await;

    let mut stream = connect_from([127, 0, 0, 1], server.addr).await;
    stream.write_all(b"GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let (received, elapsed) = read_until_closed(&mut stream, Instant::now()).await;
    assert!(
        received.starts_with("HTTP/1.1 200") && received.contains("first;") && received.contains("last"),
        "{received}"
    );
    assert!(elapsed >= SHORT * 3, "{elapsed:?}");

    let tcp = connect_from([127, 0, 0, 1], server.addr).await;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/stream", server.addr)).body(axum::body::Body::empty()).unwrap();
    let response = tokio::time::timeout(GIVE_UP, sender.send_request(request)).await.expect("answered").unwrap();
    let body = tokio::time::timeout(GIVE_UP, response.into_body().collect()).await.expect("the whole body").unwrap();
    assert_eq!(body.to_bytes(), "first;last");
}
