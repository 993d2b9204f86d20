//! HTTPS: serving an app over TLS with rustls (the plain-HTTP listener that redirects to it is
//! [`redirect_http_to_https`](crate::serve::redirect_http_to_https)).
//!
//! [`serve_tls`] accepts TCP connections, completes the TLS handshake (TLS 1.3 or 1.2 only,
//! ALPN `h2` and `http/1.1`) within the handshake timeout, and serves each connection with
//! HTTP/2 or HTTP/1.1 as negotiated, with the timeouts and caps of [`ServeOptions`].
//! Every request carries what the [`SecurityLayer`](crate::layer::SecurityLayer) needs: the peer
//! address (`ConnectInfo<SocketAddr>`) and the [`TlsConnection`](crate::layer::TlsConnection) marker, which turns on HSTS,
//! and, with a client CA ([`TlsConfig::client_ca_pem`]), the verified client certificate's
//! [`ClientCertificate`](crate::auth::ClientCertificate) for certificate-bound tokens (RFC 8705).
//!
//! rustls is built with one crypto provider, aws-lc-rs (the one `jsonwebtoken` uses), and the
//! server configuration names it explicitly: nothing depends on a process-wide default
//! provider, so nothing can panic at run time for want of one.

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::config::ConfigError;
use crate::serve::ServableApp;
use crate::serve::driver::{self, Transport};
use crate::serve::{ServeOptions, shutdown_signal};

/// A TLS server configuration: certificate chain, private key, TLS 1.2+ and ALPN `h2`,
/// `http/1.1`.
///
/// # Examples
/// ```no_run
/// use secure_api::tls::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("/etc/secure-api/cert.pem", "/etc/secure-api/key.pem")?;
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    client_ca: bool,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key; the ALPN list is what is worth seeing.
        f.debug_struct("TlsConfig")
            .field("alpn", &self.server.alpn_protocols)
            .field("client_ca", &self.client_ca)
            .finish_non_exhaustive()
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
    /// use secure_api::tls::TlsConfig;
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
        Ok(Self { server: Arc::new(server), client_ca: false })
    }

    /// Asks clients for a certificate signed by one of the CA certificates in `ca_pem`
    /// (optional client authentication): a client that presents one must present a valid one
    /// (the handshake fails otherwise), a client that presents none is served as before.
    ///
    /// Each request on a connection whose client presented a verified certificate carries its
    /// [`ClientCertificate`](crate::auth::ClientCertificate) (its RFC 8705 `x5t#S256`
    /// thumbprint), against which certificate-bound access tokens are checked.
    ///
    /// # Examples
    /// ```
    /// use secure_api::tls::TlsConfig;
    ///
    /// let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    /// let ca = rcgen::generate_simple_self_signed(vec!["client CA".to_owned()]).unwrap();
    /// let tls = TlsConfig::from_pem(server.cert.pem().as_bytes(), server.signing_key.serialize_pem().as_bytes())?
    ///     .client_ca_pem(ca.cert.pem().as_bytes())?;
    /// assert!(tls.verifies_client_certificates());
    /// assert!(TlsConfig::from_pem(server.cert.pem().as_bytes(), server.signing_key.serialize_pem().as_bytes())?
    ///     .client_ca_pem(b"no CA here")
    ///     .is_err());
    /// # Ok::<(), secure_api::ConfigError>(())
    /// ```
    pub fn client_ca_pem(self, ca_pem: &[u8]) -> Result<Self, ConfigError> {
        let cas = CertificateDer::pem_slice_iter(ca_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ConfigError::new("the TLS client CA file is not valid PEM"))?;
        if cas.is_empty() {
            return Err(ConfigError::new("the TLS client CA file holds no certificate (expected PEM `CERTIFICATE`)"));
        }
        let mut roots = RootCertStore::empty();
        for ca in cas {
            roots
                .add(ca)
                .map_err(|error| ConfigError::new(format!("the TLS client CA certificate is not usable: {error}")))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .map_err(|error| ConfigError::new(format!("the TLS client CA is not usable: {error}")))?;
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| ConfigError::new(format!("TLS protocol configuration rejected: {error}")))?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::clone(&self.server.cert_resolver));
        server.alpn_protocols = self.server.alpn_protocols.clone();
        Ok(Self { server: Arc::new(server), client_ca: true })
    }

    /// [`client_ca_pem`](Self::client_ca_pem) with the CA certificates read from a PEM file.
    pub fn client_ca_pem_file(self, ca_pem: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = ca_pem.as_ref();
        let pem = std::fs::read(path).map_err(|error| {
            ConfigError::new(format!("cannot read the TLS client CA file `{}`: {error}", path.display()))
        })?;
        self.client_ca_pem(&pem)
    }

    /// Whether clients are asked for a certificate ([`client_ca_pem`](Self::client_ca_pem)).
    pub fn verifies_client_certificates(&self) -> bool {
        self.client_ca
    }

    /// The rustls configuration, e.g. to serve with another acceptor.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server)
    }
}

/// Serves `app` over HTTPS on `listener` with the default [`ServeOptions`] until Ctrl-C or
/// SIGTERM, then lets in-flight requests finish (for at most 30 s).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
/// let tls = secure_api::tls::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// secure_api::tls::serve_tls(listener, app, tls).await?;
/// # Ok(()) }
/// ```
pub async fn serve_tls<S>(listener: TcpListener, app: S, tls: TlsConfig) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
{
    serve_tls_with(listener, app, tls, ServeOptions::default(), shutdown_signal()).await
}

/// [`serve_tls`] that stops when `signal` resolves instead of on Ctrl-C / SIGTERM (tests,
/// embedding).
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router, tls: secure_api::tls::TlsConfig) -> std::io::Result<()> {
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(secure_api::tls::serve_tls_with_shutdown(listener, app, tls, async {
///     let _ = stopped.await;
/// }));
/// // ... later
/// let _ = stop.send(());
/// # Ok(()) }
/// ```
pub async fn serve_tls_with_shutdown<S, F>(
    listener: TcpListener,
    app: S,
    tls: TlsConfig,
    signal: F,
) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    serve_tls_with(listener, app, tls, ServeOptions::default(), signal).await
}

/// [`serve_tls`] with its own timeouts and connection caps (the TLS handshake timeout among
/// them), stopping when `signal` resolves.
///
/// Every request carries the peer address (`ConnectInfo<SocketAddr>`) and the
/// [`TlsConnection`](crate::layer::TlsConnection) marker, and the
/// [`ClientCertificate`](crate::auth::ClientCertificate) when the client presented a verified one.
///
/// # Examples
/// ```no_run
/// # async fn run(app: axum::Router, tls: secure_api::tls::TlsConfig) -> std::io::Result<()> {
/// use std::time::Duration;
/// use secure_api::serve::ServeOptions;
///
/// let options = ServeOptions::default().tls_handshake_timeout(Duration::from_secs(5));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// secure_api::tls::serve_tls_with(listener, app, tls, options, secure_api::serve::shutdown_signal()).await
/// # }
/// ```
pub async fn serve_tls_with<S, F>(
    listener: TcpListener,
    app: S,
    tls: TlsConfig,
    options: ServeOptions,
    signal: F,
) -> std::io::Result<()>
where
    S: ServableApp + Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send,
    F: Future<Output = ()> + Send + 'static,
{
    let acceptor = TlsAcceptor::from(tls.server_config());
    driver::run(listener, crate::serve::served(app), options, Transport::Tls(acceptor), signal).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
