//! The plain-HTTP listener that only redirects to HTTPS: [`HttpsRedirect`] and
//! [`redirect_http_to_https`].
//!
//! The target is the configured public host, never the request's `Host`: a `Host:
//! evil.example` is refused with 400, not redirected there. Every answer is `no-store` and
//! carries the security headers, so no cache keeps a redirect, and no credential is ever
//! accepted over plain HTTP (no application route is reachable there).

use std::convert::Infallible;
use std::future::Future;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::uri::Authority;
use http::{HeaderValue, Request, StatusCode, header};
use tokio::net::TcpListener;

use super::driver::{self, Transport};
use super::options::ServeOptions;
use super::shutdown_signal;
use crate::config::ConfigError;
use crate::headers::SecurityHeaders;
use crate::problem::Problem;

/// Where the plain-HTTP listener redirects: `https://<public host>[:port]`, for requests whose
/// `Host` names that host.
///
/// # Examples
/// ```
/// use secure_api::serve::HttpsRedirect;
///
/// let redirect = HttpsRedirect::to("api.example.com")?;
/// assert_eq!(redirect.location("/items?page=2"), "https://api.example.com/items?page=2");
/// let redirect = HttpsRedirect::to("api.example.com:8443")?;
/// assert_eq!(redirect.location("/"), "https://api.example.com:8443/");
/// assert!(HttpsRedirect::to("user@evil.example").is_err());
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpsRedirect {
    /// The host name alone, lower-case: what a request's `Host` must name.
    host: String,
    /// `host` or `host:port` as written in `Location` (`:443` left out).
    authority: String,
    headers: SecurityHeaders,
}

impl HttpsRedirect {
    /// Redirects to `public_host`, a host name or IP literal with an optional HTTPS port
    /// (`api.example.com`, `api.example.com:8443`, `[2001:db8::1]:8443`; 443 when none).
    ///
    /// Fails when it is not a plain `host[:port]` (user info, a path, odd characters).
    pub fn to(public_host: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::new(format!("`{public_host}` is not a host name with an optional port"));
        let authority: Authority = public_host.parse().map_err(|_| invalid())?;
        if authority.as_str().contains('@') || !is_valid_host(authority.host()) {
            return Err(invalid());
        }
        let host = authority.host().to_ascii_lowercase();
        let authority = match authority.port_u16() {
            None | Some(443) => host.clone(),
            Some(port) => format!("{host}:{port}"),
        };
        Ok(Self { host, authority, headers: SecurityHeaders::default() })
    }

    /// Redirects to `address`'s IP and port, e.g. the TLS listener's local address (a
    /// sensible default only when clients reach the server by that address).
    pub fn to_address(address: std::net::SocketAddr) -> Self {
        let host = match address.ip() {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let authority = if address.port() == 443 { host.clone() } else { format!("{host}:{}", address.port()) };
        Self { host, authority, headers: SecurityHeaders::default() }
    }

    /// The security headers every answer carries (the defaults unless set here; HSTS is never
    /// sent over plain HTTP).
    pub fn security_headers(mut self, headers: SecurityHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// The `Location` for a request to `path_and_query`.
    pub fn location(&self, path_and_query: &str) -> String {
        format!("https://{}{path_and_query}", self.authority)
    }

    /// The answer to one plain-HTTP request: 308 to HTTPS, or 400 when the request has no
    /// `Host`, several `Host` headers (RFC 9112 §3.2), or a host other than the public one.
    pub fn respond<B>(&self, request: &Request<B>) -> Response {
        let mut response = match self.check_host(request) {
            Err(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad Request").with_detail(detail).into_response()
            }
            Ok(()) => {
                let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
                match HeaderValue::from_str(&self.location(path_and_query)) {
                    Ok(location) => {
                        let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
                        response.headers_mut().insert(header::LOCATION, location);
                        response
                    }
                    Err(_) => Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad Request")
                        .with_detail("The request target cannot be redirected.")
                        .into_response(),
                }
            }
        };
        // `Cache-Control: no-store` is among them: a redirect must not be kept by a cache.
        self.headers.apply(response.headers_mut(), false);
        response
    }

    fn check_host<B>(&self, request: &Request<B>) -> Result<(), &'static str> {
        let mut hosts = request.headers().get_all(header::HOST).iter();
        let host = match (hosts.next(), hosts.next()) {
            (Some(_), Some(_)) => return Err("The request has more than one Host header."),
            (Some(value), None) => value.to_str().ok().map(strip_port),
            // HTTP/2 names the host in `:authority`, which hyper puts in the URI.
            (None, None) => request.uri().host(),
            (None, Some(_)) => None,
        };
        match host {
            None | Some("") => Err("The request has no valid Host header."),
            Some(host) if host.eq_ignore_ascii_case(&self.host) => Ok(()),
            Some(_) => Err("This server does not answer for that host."),
        }
    }
}

/// `example.com:80` -> `example.com`; `[::1]:80` -> `[::1]`.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.rfind(']') {
        return host.get(..=end).unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// A DNS name or an IP literal: letters, digits, `-`, `.`, and for IPv6 `[`, `]`, `:`.
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'[' | b']' | b':'))
}

/// Serves a plain-HTTP listener that answers every request as [`HttpsRedirect::respond`] does,
/// with the default [`ServeOptions`], until Ctrl-C or SIGTERM.
///
/// # Examples
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await?;
/// let redirect = secure_api::serve::HttpsRedirect::to("api.example.com")?;
/// secure_api::serve::redirect_http_to_https(listener, redirect).await?;
/// # Ok(()) }
/// ```
pub async fn redirect_http_to_https(listener: TcpListener, redirect: HttpsRedirect) -> std::io::Result<()> {
    redirect_http_to_https_with(listener, redirect, ServeOptions::default(), shutdown_signal()).await
}

/// [`redirect_http_to_https`] that stops when `signal` resolves.
pub async fn redirect_http_to_https_with_shutdown<F>(
    listener: TcpListener,
    redirect: HttpsRedirect,
    signal: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    redirect_http_to_https_with(listener, redirect, ServeOptions::default(), signal).await
}

/// [`redirect_http_to_https`] with its own timeouts and connection caps, stopping when
/// `signal` resolves.
///
/// # Examples
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use secure_api::{serve::HttpsRedirect, serve::ServeOptions};
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await?;
/// let options = ServeOptions::default().idle_timeout(Duration::from_secs(5));
/// let redirect = HttpsRedirect::to("api.example.com")?;
/// secure_api::serve::redirect_http_to_https_with(listener, redirect, options, secure_api::serve::shutdown_signal()).await?;
/// # Ok(()) }
/// ```
pub async fn redirect_http_to_https_with<F>(
    listener: TcpListener,
    redirect: HttpsRedirect,
    options: ServeOptions,
    signal: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let redirect = std::sync::Arc::new(redirect);
    let app = tower::service_fn(move |request: Request<Body>| {
        let response = redirect.respond(&request);
        std::future::ready(Ok::<_, Infallible>(response))
    });
    driver::run(listener, app, options, Transport::Plain, signal).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(to: &str, uri: &str, hosts: &[&str]) -> Response {
        let mut builder = Request::get(uri);
        for host in hosts {
            builder = builder.header(header::HOST, *host);
        }
        HttpsRedirect::to(to).unwrap().respond(&builder.body(()).unwrap())
    }

    #[test]
    fn redirects_to_the_public_host_with_path_query_and_no_store() {
        let response = redirect("example.com:8443", "/api/items?x=1", &["Example.COM:8080"]);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "https://example.com:8443/api/items?x=1");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(response.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
        let response = redirect("[::1]:443", "/", &["[::1]:80"]);
        assert_eq!(response.headers()[header::LOCATION], "https://[::1]/");
    }

    #[test]
    fn refuses_other_hosts_missing_and_repeated_host_headers() {
        for hosts in [&["evil.example"][..], &["evil.com/@good.com"], &[], &["good.com", "good.com"], &[""]] {
            let response = redirect("good.com", "/", hosts);
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{hosts:?}");
            assert!(response.headers().get(header::LOCATION).is_none());
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        }
    }

    #[test]
    fn the_public_host_must_be_a_plain_authority() {
        for bad in ["", "a@b", "a b", "exa_mple.com", "a/b"] {
            assert!(HttpsRedirect::to(bad).is_err(), "{bad}");
        }
        assert_eq!(
            HttpsRedirect::to_address("127.0.0.1:8443".parse().unwrap()).location("/"),
            "https://127.0.0.1:8443/"
        );
        assert_eq!(HttpsRedirect::to_address("[::1]:443".parse().unwrap()).location("/"), "https://[::1]/");
    }
}
