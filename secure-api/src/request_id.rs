//! The request id: taken from `X-Request-Id` only when the operator asked for it
//! ([`TrustedProxies::with_trusted_request_id`](crate::client::TrustedProxies::with_trusted_request_id)),
//! the TCP peer is a trusted proxy and the value is sane; generated otherwise. Written to the
//! audit line and echoed in the response.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::header_value::shared_header_value;

/// The response and request header carrying the id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// [`REQUEST_ID_HEADER`] as a header name, built once (inserting by `&str` parses the name and
/// allocates a copy on every response).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Longest id accepted from a proxy.
const MAX_LEN: usize = 128;

/// One request's id, available to handlers as an extractor (the id the security layer gave
/// the request).
///
/// # Examples
/// ```
/// use secure_api::request_id::RequestId;
///
/// async fn handler(id: RequestId) -> String {
///     format!("your request is {id}")
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only sane ASCII ids and UUIDs are ever stored, so this never falls back.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as the response header's value (kept as one, so echoing it copies nothing).
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    /// A fresh random id (UUID v4).
    pub fn generate() -> Self {
        // `rand`'s thread-local CSPRNG (seeded from the OS, reseeded periodically) instead of
        // `Uuid::new_v4`'s `getrandom` system call on every request: as unguessable, and it
        // took a measurable share of a small request's CPU time under load (BENCHMARKS.md).
        // One `u128` is two word draws from the generator's block; a `[u8; 16]` went through
        // its byte-copying fill path.
        let uuid = uuid::Builder::from_random_bytes(rand::random::<u128>().to_ne_bytes()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        let text = uuid.hyphenated().encode_lower(&mut text);
        // Into the per-thread buffer: no allocation per id, and clones share it.
        let value = shared_header_value(text.len(), |buffer| buffer.extend_from_slice(text.as_bytes()));
        Self(value.unwrap_or(HeaderValue::from_static("-")))
    }

    /// The proxy's `X-Request-Id` when `from_trusted_proxy` and the value is 1 to 128 characters
    /// of `A-Z a-z 0-9 - _ . : /`; a fresh id otherwise. The security layer passes `true` only
    /// for a trusted peer with
    /// [`TrustedProxies::with_trusted_request_id`](crate::client::TrustedProxies::with_trusted_request_id)
    /// on. A client must not be able to choose
    /// its own id (log forging, collisions with other requests), and a proxy's id must not be
    /// able to smuggle line breaks or markup into the log.
    ///
    /// # Examples
    /// ```
    /// use secure_api::request_id::RequestId;
    /// use http::{HeaderMap, HeaderName, HeaderValue};
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
            return Self(HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("-")));
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
        f.write_str(self.as_str())
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
    fn generated_ids_are_distinct_uuid_v4() {
        assert_ne!(RequestId::generate(), RequestId::generate());
        let id = RequestId::generate();
        let uuid = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(id.header_value(), id.as_str());
    }
}
