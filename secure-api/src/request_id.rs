//! The request id: taken from `X-Request-Id` only when the TCP peer is a trusted proxy and the
//! value is sane, generated otherwise, written to the audit line and echoed in the response.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::request::Parts;

/// The response and request header carrying the id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest id accepted from a proxy.
const MAX_LEN: usize = 128;

/// One request's id, available to handlers as an extractor.
///
/// # Examples
/// ```
/// use secure_api::RequestId;
///
/// async fn handler(id: RequestId) -> String {
///     format!("your request is {id}")
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random id (UUID v4).
    pub fn generate() -> Self {
        Self(Arc::from(uuid::Uuid::new_v4().to_string()))
    }

    /// The proxy's `X-Request-Id` when `from_trusted_proxy` and the value is 1 to 128 characters
    /// of `A-Z a-z 0-9 - _ . : /`; a fresh id otherwise. A client must not be able to choose
    /// its own id (log forging, collisions with other requests), and a proxy's id must not be
    /// able to smuggle line breaks or markup into the log.
    ///
    /// # Examples
    /// ```
    /// use secure_api::RequestId;
    /// use http::HeaderMap;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-request-id", "edge-7f3a".parse().unwrap());
    /// assert_eq!(RequestId::resolve(&headers, true).as_str(), "edge-7f3a");
    /// assert_ne!(RequestId::resolve(&headers, false).as_str(), "edge-7f3a");
    /// ```
    pub fn resolve(headers: &HeaderMap, from_trusted_proxy: bool) -> Self {
        if from_trusted_proxy
            && let Some(value) = headers.get(REQUEST_ID_HEADER).and_then(|value| value.to_str().ok())
            && is_sane(value)
        {
            return Self(Arc::from(value));
        }
        Self::generate()
    }
}

fn is_sane(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Without the layer there is no id yet; make one so handlers can always log with it.
        Ok(parts.extensions.get::<RequestId>().cloned().unwrap_or_else(RequestId::generate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, value.parse().unwrap());
        headers
    }

    #[test]
    fn trusted_and_sane_only() {
        assert_eq!(RequestId::resolve(&headers("abc-123"), true).as_str(), "abc-123");
        assert_ne!(RequestId::resolve(&headers("abc-123"), false).as_str(), "abc-123");
        for bad in ["", "has space", "<script>", "a\"b", &"x".repeat(129)] {
            let id = RequestId::resolve(&headers(bad), true);
            assert_ne!(id.as_str(), bad);
            assert_eq!(id.as_str().len(), 36, "a generated UUID replaces `{bad}`");
        }
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
