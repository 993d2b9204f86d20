//! HTTPS: serving an app over TLS with rustls, and a plain-HTTP listener that redirects to it.
//!
//! [`serve_tls`] accepts TCP connections, completes the TLS handshake (TLS 1.3 or 1.2 only,
//! ALPN `h2` and `http/1.1`), and serves each connection with HTTP/2 or HTTP/1.1 as negotiated.
//! Every request carries what the [`SecurityLayer`](crate::SecurityLayer) needs: the peer
//! address (`ConnectInfo<SocketAddr>`) and the [`TlsConnection`] marker, which turns on HSTS.
//!
//! rustls is built with one crypto provider, aws-lc-rs (the one `jsonwebtoken` uses), and the
//! server configuration names it explicitly: nothing depends on a process-wide default
//! provider, so nothing can panic at run time for want of one.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, Uri, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::ConfigError;
use crate::layer::TlsConnection;
use crate::problem::Problem;
use crate::serve::shutdown_signal;

/// A client that has not finished its TLS handshake by then is dropped (slow-handshake DoS).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that has not sent its request headers by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for in-flight requests before closing the remaining connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A TLS server configuration: certificate chain, private key, TLS 1.2+ and ALPN `h2`,
/// `http/1.1`.
///
/// # Examples
/// ```no_run
/// use secure_api::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("/etc/secure-api/cert.pem", "/etc/secure-api/key.pem")?;
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key; the ALPN list is what is worth seeing.
        f.debug_struct("TlsConfig").field("alpn", &self.server.alpn_protocols).finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1) from files.
    ///
    /// Fails with a message for the operator when a file cannot be read, holds no certificate
    /// or key, or the key does not match the certificate.
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, private_key: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path)
                .map_err(|error| ConfigError::new(format!("cannot read the TLS {what} `{}`: {error}", path.display())))
        };
        let cert_pem = read(cert_chain.as_ref(), "certificate file")?;
        let key_pem = read(private_key.as_ref(), "private key file")?;
        Self::from_pem(&cert_pem, &key_pem)
    }

    /// Builds the configuration from PEM text already in memory.
    ///
    /// # Examples
    /// ```
    /// use secure_api::TlsConfig;
    ///
    /// let err = TlsConfig::from_pem(b"not a certificate", b"not a key").unwrap_err();
    /// assert!(err.to_string().contains("no certificate"));
    /// ```
    pub fn from_pem(cert_chain_pem: &[u8], private_key_pem: &[u8]) -> Result<Self, ConfigError> {
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ConfigError::new("the TLS certificate file is not valid PEM"))?;
        if chain.is_empty() {
            return Err(ConfigError::new("the TLS certificate file holds no certificate (expected PEM `CERTIFICATE`)"));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key_pem).map_err(|_| {
            ConfigError::new("the TLS private key file holds no private key (expected PEM PKCS#8, RSA or EC key)")
        })?;
        Self::from_der(chain, key)
    }

    /// Builds the configuration from DER certificates and key.
    pub fn from_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self, ConfigError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // TLS 1.0 and 1.1 are not implemented by rustls at all; name the two we allow anyway so
        // the minimum is stated here, not inherited.
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| ConfigError::new(format!("TLS protocol configuration rejected: {error}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| {
                ConfigError::new(format!("the TLS certificate and private key are not usable: {error}"))
            })?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self { server: Arc::new(server) })
    }

    /// The rustls configuration, e.g. to serve with another acceptor.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server)
    }
}

/// Serves `app` over HTTPS on `listener` until Ctrl-C or SIGTERM, then lets in-flight requests
/// finish (for at most 30 s).
///
/// # Examples
/// ```no_run
/// # async fn run(app: secure_api::SecureApp) -> Result<(), Box<dyn std::error::Error>> {
/// let tls = secure_api::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// secure_api::serve_tls(listener, app, tls).await?;
/// # Ok(()) }
/// ```
pub async fn serve_tls<A>(listener: TcpListener, app: A, tls: TlsConfig) -> std::io::Result<()>
where
    A: tower::Service<Request<Body>, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send,
{
    serve_tls_with_shutdown(listener, app, tls, shutdown_signal()).await
}

/// [`serve_tls`] that stops when `signal` resolves instead of on Ctrl-C / SIGTERM (tests,
/// embedding).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router, tls: secure_api::TlsConfig) -> std::io::Result<()> {
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(secure_api::serve_tls_with_shutdown(listener, app, tls, async {
///     let _ = stopped.await;
/// }));
/// // ... later
/// let _ = stop.send(());
/// # Ok(()) }
/// ```
pub async fn serve_tls_with_shutdown<A, F>(
    listener: TcpListener,
    app: A,
    tls: TlsConfig,
    signal: F,
) -> std::io::Result<()>
where
    A: tower::Service<Request<Body>, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    let acceptor = TlsAcceptor::from(tls.server_config());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (reset before accept, out of descriptors) must not
                    // stop the server; back off briefly so a persistent one does not spin.
                    tracing::warn!(target: "secure_api::serve", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let builder = Arc::clone(&builder);
        let app = app.clone();
        tokio::spawn(async move {
            let Some(stream) = handshake(&acceptor, stream, peer).await else {
                return;
            };
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(TlsConnection);
                app.clone().oneshot(request.map(Body::new))
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(target: "secure_api::serve", %peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(target: "secure_api::serve", open = graceful.count(), "HTTPS listener closed; closing connections gracefully");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!(target: "secure_api::serve", "connections still open after the grace period; closing them");
    }
    Ok(())
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            // Scanners and plain-HTTP clients on the HTTPS port end here; not worth a warning.
            tracing::debug!(target: "secure_api::serve", %peer, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(target: "secure_api::serve", %peer, "TLS handshake timed out");
            None
        }
    }
}

/// Serves a plain-HTTP listener that answers every request with `308 Permanent Redirect` to the
/// same host, path and query over HTTPS on `https_port`, until Ctrl-C or SIGTERM.
///
/// No application route is reachable over plain HTTP, so no credential is ever accepted there;
/// 308 keeps the method and body for clients that follow it. Requests without a valid `Host`
/// get 400.
///
/// # Examples
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await?;
/// secure_api::redirect_http_to_https(listener, 443).await
/// # }
/// ```
pub async fn redirect_http_to_https(listener: TcpListener, https_port: u16) -> std::io::Result<()> {
    redirect_http_to_https_with_shutdown(listener, https_port, shutdown_signal()).await
}

/// [`redirect_http_to_https`] that stops when `signal` resolves.
pub async fn redirect_http_to_https_with_shutdown<F>(
    listener: TcpListener,
    https_port: u16,
    signal: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = Router::new().fallback(move |request: Request<Body>| async move { https_redirect(&request, https_port) });
    axum::serve(listener, app).with_graceful_shutdown(signal).await
}

/// The 308 answer for one plain-HTTP request.
fn https_redirect<B>(request: &Request<B>, https_port: u16) -> Response {
    let host = request.uri().host().map(str::to_owned).or_else(|| {
        let value = request.headers().get(header::HOST)?.to_str().ok()?;
        Some(strip_port(value).to_owned())
    });
    let Some(host) = host.filter(|host| is_valid_host(host)) else {
        return Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad Request")
            .with_detail("The request has no valid Host header.")
            .into_response();
    };
    let authority = if https_port == 443 { host } else { format!("{host}:{https_port}") };
    let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let target = format!("https://{authority}{path_and_query}");
    match (target.parse::<Uri>(), HeaderValue::from_str(&target)) {
        (Ok(_), Ok(location)) => {
            let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        _ => Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad Request")
            .with_detail("The request target cannot be redirected.")
            .into_response(),
    }
}

/// `example.com:80` -> `example.com`; `[::1]:80` -> `[::1]`.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.rfind(']') {
        return &host[..=end];
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// A DNS name or an IP literal: letters, digits, `-`, `.`, and for IPv6 `[`, `]`, `:`. Anything
/// else (`@`, `/`, spaces) could turn the redirect into a redirect elsewhere.
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(uri: &str, host: Option<&str>, port: u16) -> Response {
        let mut builder = Request::get(uri);
        if let Some(host) = host {
            builder = builder.header(header::HOST, host);
        }
        https_redirect(&builder.body(()).unwrap(), port)
    }

    #[test]
    fn redirects_to_the_same_host_path_and_query() {
        let response = redirect("/api/items?x=1", Some("example.com:8080"), 8443);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "https://example.com:8443/api/items?x=1");
        let response = redirect("/", Some("[::1]:80"), 443);
        assert_eq!(response.headers()[header::LOCATION], "https://[::1]/");
    }

    #[test]
    fn refuses_hosts_that_would_redirect_elsewhere() {
        assert_eq!(redirect("/", Some("evil.com/@good.com"), 443).status(), StatusCode::BAD_REQUEST);
        assert_eq!(redirect("/", None, 443).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn rejects_mismatched_or_missing_pem() {
        assert!(TlsConfig::from_pem(b"", b"").is_err());
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let chain = cert.cert.pem();
        assert!(TlsConfig::from_pem(chain.as_bytes(), cert.signing_key.serialize_pem().as_bytes()).is_ok());
        let mismatch = TlsConfig::from_pem(chain.as_bytes(), other.signing_key.serialize_pem().as_bytes());
        assert!(mismatch.is_err());
    }

    #[test]
    fn offers_h2_and_http11() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes()).unwrap();
        assert_eq!(tls.server_config().alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}
