//! Cross-origin resource sharing, off unless configured.
//!
//! Without a [`CorsPolicy`] no `Access-Control-*` header is ever sent, so browsers refuse to let
//! another origin read responses or send non-simple requests (preflights get no approval). A
//! policy names exact origins; there is no wildcard, so credentials and `*` can never meet.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ConfigError;

/// Which other origins browsers may let call the API, with which methods and headers.
///
/// # Examples
/// ```
/// use secure_api::{cors::CorsPolicy, Security};
///
/// let cors = CorsPolicy::allow_origins(["https://app.example.com"])?
///     .allow_methods([http::Method::GET, http::Method::POST])
///     .allow_credentials();
/// let security = Security::builder().cors(cors).build();
///
/// assert!(CorsPolicy::allow_origins(["*"]).is_err());
/// assert!(CorsPolicy::allow_origins(["https://app.example.com/path"]).is_err());
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsPolicy {
    origins: Vec<HeaderValue>,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    expose: Vec<HeaderName>,
    credentials: bool,
    max_age: Duration,
}

impl CorsPolicy {
    /// Allows these exact origins (`scheme://host[:port]`, no path, no wildcard, not `null`).
    /// Defaults: methods `GET` and `POST`; request headers `authorization` and
    /// `content-type`; no credentials; preflight cached 10 minutes.
    pub fn allow_origins<'a>(origins: impl IntoIterator<Item = &'a str>) -> Result<Self, ConfigError> {
        let mut parsed = Vec::new();
        for origin in origins {
            parsed.push(parse_origin(origin)?);
        }
        if parsed.is_empty() {
            return Err(ConfigError::new("a CORS policy needs at least one origin"));
        }
        Ok(Self {
            origins: parsed,
            methods: vec![Method::GET, Method::POST],
            headers: vec![http::header::AUTHORIZATION, http::header::CONTENT_TYPE],
            // The request id, and the DPoP server nonce a browser client must read to retry.
            expose: vec![
                HeaderName::from_static(crate::request_id::REQUEST_ID_HEADER),
                crate::auth::dpop::request::DPOP_NONCE,
            ],
            credentials: false,
            max_age: Duration::from_secs(600),
        })
    }

    /// The methods allowed cross-origin.
    pub fn allow_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }

    /// The request headers allowed cross-origin.
    pub fn allow_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.headers = headers.into_iter().collect();
        self
    }

    /// Response headers the browser may show to the calling script (besides the safelisted
    /// ones); `x-request-id` and `dpop-nonce` (RFC 9449 §8) by default.
    pub fn expose_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.expose = headers.into_iter().collect();
        self
    }

    /// Lets browsers send cookies / HTTP auth cross-origin (`Access-Control-Allow-Credentials`).
    pub fn allow_credentials(mut self) -> Self {
        self.credentials = true;
        self
    }

    /// How long browsers may cache a preflight answer.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    pub(crate) fn layer(&self) -> CorsLayer {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.origins.clone()))
            .allow_methods(self.methods.clone())
            .allow_headers(self.headers.clone())
            .expose_headers(self.expose.clone())
            .allow_credentials(self.credentials)
            .max_age(self.max_age)
    }
}

fn parse_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let invalid = || {
        ConfigError::new(format!(
            "CORS origin `{origin}` must be an exact `https://host[:port]` (or http) without path or wildcard"
        ))
    };
    let (scheme, rest) = origin.split_once("://").ok_or_else(invalid)?;
    let host_ok = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'));
    if !matches!(scheme, "https" | "http") || !host_ok {
        return Err(invalid());
    }
    HeaderValue::from_str(origin).map_err(|_| invalid())
}
