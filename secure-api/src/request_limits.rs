//! Limits on the request head: the length of the request target and the number and total size
//! of the header fields, refused with 414 / 431 problem+json before any route runs.
//!
//! The HTTP parser has limits of its own (hyper: a request target of at most 64 KiB, 100 header
//! fields, a read buffer of about 400 KiB), and what it refuses it answers itself, with a bare
//! response that carries none of the security headers and writes no audit line. These limits
//! sit below the parser's, so every request the parser lets through but that is still too big
//! for an API gets the framework's answer: the RFC 9457 envelope, the security headers, one
//! audit line (`invalid:request`).

use http::{HeaderMap, StatusCode, Uri};

use crate::audit::Outcome;
use crate::problem::Problem;

/// The longest request target accepted by default: 16 KiB (nginx and Apache stop at 8 KiB;
/// hyper at 64 KiB).
pub const DEFAULT_MAX_URI_BYTES: usize = 16 * 1024;
/// The most header field lines accepted by default: 100 (hyper's own default, Apache's
/// `LimitRequestFields`).
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// The largest header section accepted by default: 32 KiB, counting each field as
/// `name: value` plus its line ending (nginx's default `large_client_header_buffers 4 8k`).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;

/// How big a request head may be: the length of the request target and the number and total
/// size of the header fields. The security layer refuses a head over a limit with 414 / 431
/// problem+json before any route runs.
///
/// The HTTP parser has limits of its own (hyper: a request target of at most 64 KiB, 100 header
/// fields, a read buffer of about 400 KiB) and answers what it refuses itself, with a bare
/// response: no security headers, no audit line. These limits sit below the parser's, so a
/// request the parser lets through but that is still too big gets the framework's answer.
///
/// # Examples
/// ```
/// use secure_api::{request_limits::RequestLimits, Security};
///
/// let limits = RequestLimits::default().max_uri_bytes(4096).max_headers(50).max_header_bytes(16 * 1024);
/// assert_eq!(limits.uri_bytes(), 4096);
/// let security = Security::builder().request_limits(limits).build();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    max_uri_bytes: usize,
    max_headers: usize,
    max_header_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl RequestLimits {
    /// The longest request target (path and query, plus the authority of an absolute URI).
    pub fn max_uri_bytes(mut self, bytes: usize) -> Self {
        self.max_uri_bytes = bytes;
        self
    }

    /// The most header field lines (a header sent twice counts twice).
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// The largest header section, each field counted as `name: value\r\n`.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// The configured request-target limit.
    pub fn uri_bytes(&self) -> usize {
        self.max_uri_bytes
    }

    /// The configured header count limit.
    pub fn headers(&self) -> usize {
        self.max_headers
    }

    /// The configured header section limit.
    pub fn header_bytes(&self) -> usize {
        self.max_header_bytes
    }

    /// 414 or 431 problem+json when the head is over a limit.
    pub(crate) fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Problem> {
        let uri_bytes = uri.authority().map_or(0, |authority| authority.as_str().len())
            + uri.path_and_query().map_or(0, |target| target.as_str().len());
        if uri_bytes > self.max_uri_bytes {
            return Err(Problem::new(StatusCode::URI_TOO_LONG, "uri-too-long", "URI Too Long")
                .with_detail(format!(
                    "The request target is longer than the {} bytes this API accepts.",
                    self.max_uri_bytes
                ))
                .with_extension("max_bytes", self.max_uri_bytes)
                .with_outcome(Outcome::INVALID_REQUEST));
        }
        if headers.len() > self.max_headers {
            return Err(headers_too_large(format!(
                "The request has more than the {} header fields this API accepts.",
                self.max_headers
            ))
            .with_extension("max_headers", self.max_headers));
        }
        // `": "` and the line ending, as on the wire in HTTP/1.1.
        let header_bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
        if header_bytes > self.max_header_bytes {
            return Err(headers_too_large(format!(
                "The request's header fields are larger than the {} bytes this API accepts.",
                self.max_header_bytes
            ))
            .with_extension("max_bytes", self.max_header_bytes));
        }
        Ok(())
    }
}

fn headers_too_large(detail: String) -> Problem {
    Problem::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request Header Fields Too Large")
        .with_detail(detail)
        .with_outcome(Outcome::INVALID_REQUEST)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(count: usize, value_len: usize) -> HeaderMap {
        let mut map = HeaderMap::new();
        for _ in 0..count {
            map.append("x-a", HeaderValue::from_str(&"v".repeat(value_len)).unwrap());
        }
        map
    }

    #[test]
    fn each_limit_is_inclusive_and_answers_its_status() {
        let limits = RequestLimits::default().max_uri_bytes(10).max_headers(3).max_header_bytes(3 * (3 + 5 + 4));
        let ok: Uri = "/123456789".parse().unwrap();
        let long: Uri = "/123456789?".parse().unwrap();
        assert!(limits.check(&ok, &HeaderMap::new()).is_ok());
        assert_eq!(limits.check(&long, &HeaderMap::new()).unwrap_err().status(), StatusCode::URI_TOO_LONG);
        let absolute: Uri = "http://example.com/".parse().unwrap();
        assert_eq!(limits.check(&absolute, &HeaderMap::new()).unwrap_err().status(), StatusCode::URI_TOO_LONG);

        assert!(limits.check(&ok, &headers(3, 5)).is_ok());
        let too_many = limits.check(&ok, &headers(4, 0)).unwrap_err();
        assert_eq!(too_many.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(too_many.body()["max_headers"], 3);
        let too_big = limits.check(&ok, &headers(3, 6)).unwrap_err();
        assert_eq!(too_big.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(too_big.body()["max_bytes"], 36);
    }

    #[test]
    fn defaults_sit_below_hypers_own_limits() {
        let limits = RequestLimits::default();
        assert!(limits.uri_bytes() < 64 * 1024);
        assert!(limits.headers() <= 100);
        assert!(limits.header_bytes() < 400 * 1024);
    }
}
