//! Choosing how the quickstart is served: plain HTTP, or HTTPS (plus an optional plain-HTTP
//! listener that only redirects to HTTPS).

use std::future::Future;

use secure_api::{ConfigError, SecureApp, serve::HttpsRedirect, serve::ServeOptions, tls::TlsConfig};
use tokio::net::TcpListener;

use super::Config;

/// How the quickstart talks to clients.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Plain HTTP (the default; for local use or behind a TLS-terminating proxy).
    Http,
    /// HTTPS with the configured certificate.
    Https(TlsConfig),
}

impl Transport {
    /// HTTPS when `SECURE_API_TLS_CERT` / `SECURE_API_TLS_KEY` are set: the PEM files are read
    /// and checked now, so a bad certificate stops the start-up instead of the first client.
    /// With `SECURE_API_TLS_CLIENT_CA`, clients may present a certificate signed by that CA.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        match &config.tls {
            None => Ok(Self::Http),
            Some(files) => {
                let tls = TlsConfig::from_pem_files(&files.cert, &files.key)?;
                Ok(Self::Https(match &config.tls_client_ca {
                    Some(ca) => tls.client_ca_pem_file(ca)?,
                    None => tls,
                }))
            }
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https(_) => "https",
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, with secure-api's default timeouts and
/// connection caps; with HTTPS and a `redirect` listener, that one answers every plain-HTTP
/// request with a 308 to the HTTPS listener's address. [`serve_with`] takes them from the
/// configuration.
pub async fn serve<F>(
    transport: Transport,
    app: SecureApp,
    listener: TcpListener,
    redirect: Option<TcpListener>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_listeners(ServeOptions::default(), None, transport, app, listener, redirect, shutdown).await
}

/// [`serve`] with the configuration's timeouts and connection caps
/// (`SECURE_API_MAX_CONNECTIONS`, ...) on every listener, and `SECURE_API_PUBLIC_HOST` as the
/// redirect listener's target.
pub async fn serve_with<F>(
    config: &Config,
    transport: Transport,
    app: SecureApp,
    listener: TcpListener,
    redirect: Option<TcpListener>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let options = config.serve_options.clone();
    serve_listeners(options, config.public_host.clone(), transport, app, listener, redirect, shutdown).await
}

async fn serve_listeners<F>(
    options: ServeOptions,
    public_host: Option<HttpsRedirect>,
    transport: Transport,
    app: SecureApp,
    listener: TcpListener,
    redirect: Option<TcpListener>,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    // One signal stops every listener.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let signal = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    match transport {
        Transport::Http => secure_api::serve::serve_with(listener, app, options, signal()).await,
        Transport::Https(tls) => {
            let target = match public_host {
                Some(target) => target,
                None => HttpsRedirect::to_address(listener.local_addr()?),
            };
            let redirecting = redirect.map(|redirect| {
                tokio::spawn(secure_api::serve::redirect_http_to_https_with(
                    redirect,
                    target,
                    options.clone(),
                    signal(),
                ))
            });
            let served = secure_api::tls::serve_tls_with(listener, app, tls, options, signal()).await;
            if let Some(redirecting) = redirecting {
                match redirecting.await {
                    Ok(result) => result?,
                    Err(error) => return Err(std::io::Error::other(error)),
                }
            }
            served
        }
    }
}
