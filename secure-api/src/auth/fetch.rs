//! The HTTP client that talks to identity providers: JWKS, OIDC discovery, token introspection.
//!
//! One set of rules for every provider call, so none of them can be forgotten:
//! - `https` only, except to loopback addresses (a provider on the same machine, or a test);
//!   plain HTTP to anything else must be allowed explicitly, because whoever can rewrite a key
//!   set in transit can mint tokens;
//! - rustls with the aws-lc-rs provider (jsonwebtoken's backend), the platform's roots;
//! - connect and total timeouts, no redirects, no proxies from the environment;
//! - responses are read up to a size limit, so a provider cannot exhaust our memory.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use reqwest::Url;

use crate::config::ConfigError;

/// Default total time allowed for one provider request.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting gets its own, shorter limit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest provider response we read (a JWKS with many RSA keys is a few tens of KiB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Parses `url` and refuses plain HTTP to anything but loopback unless `allow_http`.
pub(crate) fn provider_url(what: &str, url: &str, allow_http: bool) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url).map_err(|_| ConfigError::new(format!("the {what} `{url}` is not a valid URL")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(ConfigError::new(format!(
                "the {what} `{url}` uses plain http; identity provider URLs must be https (plain http is \
                 accepted only for loopback addresses, or when explicitly allowed)"
            )));
        }
        other => return Err(ConfigError::new(format!("the {what} `{url}` has unsupported scheme `{other}`"))),
    }
    if parsed.host().is_none() {
        return Err(ConfigError::new(format!("the {what} `{url}` has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::new(format!("the {what} must not carry credentials in the URL")));
    }
    Ok(parsed)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 hosts come bracketed (`[::1]`).
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A provider client with our timeouts and rules.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        // A redirect could move us to plain http or to another host; providers do not need it.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("secure-api/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| ConfigError::new(format!("cannot build the identity provider HTTP client: {error}")))
}

/// Why a provider request failed. `Display` is for the operator's log; it never contains a
/// token or a secret (request bodies are not part of it).
#[derive(Debug)]
pub(crate) enum FetchError {
    /// Connecting, sending or reading failed (includes timeouts).
    Transport(reqwest::Error),
    /// The provider answered with a status other than 200.
    Status(StatusCode),
    /// The body exceeded [`MAX_RESPONSE_BYTES`].
    TooLarge,
    /// The body is not the JSON we expected.
    Json(serde_json::Error),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `without_url` keeps query strings (never secret here, but still) out of the log.
            Self::Transport(error) if error.is_timeout() => f.write_str("the request timed out"),
            Self::Transport(error) if error.is_connect() => f.write_str("could not connect"),
            Self::Transport(_) => f.write_str("the request failed"),
            Self::Status(status) => write!(f, "the provider answered {status}"),
            Self::TooLarge => write!(f, "the response is larger than {MAX_RESPONSE_BYTES} bytes"),
            Self::Json(error) => write!(f, "the response is not the expected JSON ({error})"),
        }
    }
}

/// Sends `request`, requires 200, and reads the body up to the size limit.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Bytes, FetchError> {
    let mut response = request.send().await.map_err(FetchError::Transport)?;
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status(response.status()));
    }
    if response.content_length().is_some_and(|length| length > MAX_RESPONSE_BYTES as u64) {
        return Err(FetchError::TooLarge);
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(FetchError::Transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `GET url` and parse the JSON body as `T`.
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &Url,
) -> Result<T, FetchError> {
    let body = send(client.get(url.clone()).header(http::header::ACCEPT, "application/json")).await?;
    serde_json::from_slice(&body).map_err(FetchError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_but_loopback() {
        assert!(provider_url("JWKS URL", "https://idp.example/jwks", false).is_ok());
        assert!(provider_url("JWKS URL", "http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(provider_url("JWKS URL", "http://[::1]:8080/jwks", false).is_ok());
        assert!(provider_url("JWKS URL", "http://localhost/jwks", false).is_ok());
        let error = provider_url("JWKS URL", "http://idp.example/jwks", false).unwrap_err();
        assert!(error.to_string().contains("https"), "{error}");
        assert!(provider_url("JWKS URL", "http://idp.example/jwks", true).is_ok());
        assert!(provider_url("JWKS URL", "ftp://idp.example/jwks", true).is_err());
        assert!(provider_url("JWKS URL", "not a url", false).is_err());
        assert!(provider_url("JWKS URL", "https://user:pw@idp.example/jwks", false).is_err());
    }
}
