//! HTTPS end to end: the quickstart served over TLS on 127.0.0.1 with a certificate generated
//! here, real handshakes (reqwest + rustls, and tokio-rustls for protocol details), HSTS over
//! TLS only, the plain-HTTP redirect listener, and graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use secure_api_examples::quickstart::{self, Config, TlsFiles, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common;

/// A self-signed certificate for `localhost` / 127.0.0.1, written to PEM files.
struct TestCert {
    der: CertificateDer<'static>,
    files: TlsFiles,
    dir: PathBuf,
}

impl Drop for TestCert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn test_cert() -> TestCert {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("rcgen generates a certificate");
    let dir = std::env::temp_dir().join(format!(
        "secure-api-tls-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    TestCert { der: generated.cert.der().clone(), files: TlsFiles { cert, key }, dir }
}

/// A running quickstart; dropping `stop` (or sending on it) shuts it down.
struct Running {
    addr: SocketAddr,
    redirect_addr: Option<SocketAddr>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        let finished = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        let result = finished.expect("the server stops within the grace period").expect("the task did not panic");
        result.expect("the server ends cleanly");
    }
}

async fn start(config: Config, with_redirect: bool) -> Running {
    let app = quickstart::app(&config).unwrap();
    let transport = Transport::from_config(&config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let redirect = if with_redirect { Some(TcpListener::bind("127.0.0.1:0").await.unwrap()) } else { None };
    let redirect_addr = redirect.as_ref().map(|listener| listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        quickstart::serve_with(&config, transport, app, listener, redirect, async {
            let _ = stopped.await;
        })
        .await
    });
    Running { addr, redirect_addr, stop, task }
}

fn tls_config(cert: &TestCert) -> Config {
    Config { tls: Some(cert.files.clone()), ..common::config() }
}

/// A rustls client configuration that trusts only `cert`, built with the aws-lc-rs provider.
fn client_tls(
    cert: &TestCert,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    config
}

/// One HTTPS response, read through a real TLS connection.
struct HttpsReply {
    status: http::StatusCode,
    version: http::Version,
    headers: http::HeaderMap,
    body: String,
}

/// Sends one `GET` over a fresh TLS connection that trusts only `cert`, with HTTP/2 when the
/// server selects `h2` by ALPN and HTTP/1.1 otherwise.
async fn https_get(
    cert: &TestCert,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<HttpsReply, Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(client_tls(cert, rustls::ALL_VERSIONS, &[b"h2", b"http/1.1"])));
    let tcp = TcpStream::connect(addr).await?;
    let tls = connector.connect(ServerName::try_from("localhost")?, tcp).await?;
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let mut request = http::Request::get(format!("https://localhost:{}{path}", addr.port()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if !h2 {
        request = request.header("host", format!("localhost:{}", addr.port()));
    }
    let request = request.body(axum::body::Body::empty())?;
    let response = if h2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(connection);
        sender.send_request(request).await?
    };
    let (parts, body) = response.into_parts();
    let body = String::from_utf8(body.collect().await?.to_bytes().to_vec())?;
    Ok(HttpsReply { status: parts.status, version: parts.version, headers: parts.headers, body })
}

#[tokio::test]
async fn quickstart_serves_https_with_hsts_over_http2() {
    let cert = test_cert();
    let server = start(tls_config(&cert), false).await;
    let reply = https_get(&cert, server.addr, "/health", &[]).await.expect("TLS handshake and request succeed");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.version, http::Version::HTTP_2, "ALPN negotiated h2");
    assert_eq!(reply.headers["strict-transport-security"], "max-age=31536000; includeSubDomains");
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    assert!(reply.headers.get("server").is_none());
    assert_eq!(serde_json::from_str::<serde_json::Value>(&reply.body).unwrap(), serde_json::json!({"status": "ok"}));

    // A protected route works end to end over TLS with a real token.
    let authorization = common::bearer(&common::token("items:read"));
    let reply = https_get(&cert, server.addr, "/api/items", &[("authorization", &authorization)]).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.headers.contains_key("strict-transport-security"));
    server.shut_down().await;
}

#[tokio::test]
async fn tls12_client_is_served_and_alpn_falls_back_to_http11() {
    let cert = test_cert();
    let server = start(tls_config(&cert), false).await;
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, &[&rustls::version::TLS12], &[b"http/1.1"])));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.expect("TLS 1.2 handshake");
    {
        let (_, session) = tls.get_ref();
        assert_eq!(session.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
        assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    tls.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{reply}");

    // TLS 1.3 is negotiated when the client offers it, and h2 is preferred.
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, rustls::ALL_VERSIONS, &[b"h2", b"http/1.1"])));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let (_, session) = tls.get_ref();
    assert_eq!(session.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(session.alpn_protocol(), Some(&b"h2"[..]));
    drop(tls);
    server.shut_down().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let cert = test_cert();
    let other = test_cert();
    let server = start(tls_config(&cert), false).await;
    assert!(https_get(&other, server.addr, "/health", &[]).await.is_err(), "the handshake fails");
    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{}/health", server.addr.port())).send().await;
    assert!(plain.is_err());
    server.shut_down().await;
}

#[tokio::test]
async fn plain_http_listener_redirects_to_https_with_308() {
    let cert = test_cert();
    let server = start(tls_config(&cert), true).await;
    let redirect_addr = server.redirect_addr.unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // Without SECURE_API_PUBLIC_HOST the target is the HTTPS listener's own address.
    let response = client
        .post(format!("http://127.0.0.1:{}/api/items?page=2", redirect_addr.port()))
        .bearer_auth("never-read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(response.headers()["location"], format!("https://127.0.0.1:{}/api/items?page=2", server.addr.port()));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().get("strict-transport-security").is_none(), "never HSTS over plain HTTP");
    // Any other host is refused, not redirected.
    let response = client.get(format!("http://localhost:{}/", redirect_addr.port())).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    server.shut_down().await;
}

#[tokio::test]
async fn plain_http_listener_redirects_to_the_configured_public_host_only() {
    let cert = test_cert();
    let config = Config {
        public_host: Some(secure_api::serve::HttpsRedirect::to("api.example.test").unwrap()),
        ..tls_config(&cert)
    };
    let server = start(config, true).await;
    let redirect_addr = server.redirect_addr.unwrap();
    let ask = |host: &'static str| async move {
        let mut stream = TcpStream::connect(redirect_addr).await.unwrap();
        let request = format!("GET /x?y=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply.to_ascii_lowercase()
    };
    let reply = ask("api.example.test").await;
    assert!(reply.starts_with("http/1.1 308"), "{reply}");
    assert!(reply.contains("location: https://api.example.test/x?y=1\r\n"), "{reply}");
    let reply = ask("evil.example").await;
    assert!(reply.starts_with("http/1.1 400"), "{reply}");
    assert!(!reply.contains("location"), "{reply}");
    server.shut_down().await;
}

#[tokio::test]
async fn plain_http_has_no_hsts_even_with_a_forged_forwarded_proto() {
    let server = start(common::config(), false).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/health", server.addr.port());
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("strict-transport-security").is_none());
    // 127.0.0.1 is not a trusted proxy here: its X-Forwarded-Proto is ignored.
    let response = client.get(&url).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(response.headers().get("strict-transport-security").is_none());
    server.shut_down().await;
}

#[tokio::test]
async fn a_trusted_proxy_saying_https_gets_hsts() {
    let config = Config {
        trusted_proxies: secure_api::client::TrustedProxies::parse("127.0.0.1/32").unwrap(),
        ..common::config()
    };
    let server = start(config, false).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/health", server.addr.port());
    let response = client.get(&url).header("x-forwarded-proto", "https").send().await.unwrap();
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let response = client.get(&url).header("x-forwarded-proto", "http").send().await.unwrap();
    assert!(response.headers().get("strict-transport-security").is_none());
    server.shut_down().await;
}

#[tokio::test]
async fn shutdown_closes_an_idle_https_connection_and_returns() {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let cert = test_cert();
    let server = start(tls_config(&cert), false).await;
    let addr = server.addr;
    // An idle HTTP/2 connection is open when the shutdown starts; the server closes it
    // gracefully (GOAWAY) and returns instead of waiting for the client.
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, rustls::ALL_VERSIONS, &[b"h2"])));
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), TcpStream::connect(addr).await.unwrap())
        .await
        .unwrap();
    let (_sender, connection) =
        hyper::client::conn::http2::handshake::<_, _, axum::body::Body>(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    server.shut_down().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), connection).await;
    assert!(closed.is_ok(), "the client saw the connection close");
    assert!(TcpStream::connect(addr).await.is_err(), "nothing listens after shutdown");
}
