//! Reading a request body within the route's limit, after checking its media type.
//!
//! Before a byte is read the framing headers must be unambiguous: exactly one `Content-Type`
//! (two are 400: a reader picking the first and one picking the last would parse different
//! things) and no `Content-Encoding` but `identity` (415 with `Accept-Encoding: identity`, RFC
//! 7694: a gzip body would otherwise be parsed as if it were plain, and plain JSON labelled
//! gzip accepted, a parser differential with any intermediary that decodes).
//!
//! The limit is enforced twice: a `Content-Length` above it is refused before a single byte is
//! read, and the body itself is read through [`http_body_util::Limited`], which stops at the
//! first frame that crosses the limit (a chunked or lying client cannot make the server buffer
//! more than the limit plus one frame).

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::{
    body_timeout, duplicate_content_type, malformed, too_large, unsupported_content_encoding, unsupported_media_type,
};
use crate::problem::Problem;

/// The body limit of a `validate`d route without `max_body`: 64 KiB.
///
/// # Examples
/// ```
/// use secure_api::{policy::RoutePolicy, validate::DEFAULT_MAX_BODY};
///
/// assert_eq!(RoutePolicy::secured("app::create").max_body(), DEFAULT_MAX_BODY);
/// assert_eq!(RoutePolicy::secured("app::create").with_max_body(16 * 1024).max_body(), 16 * 1024);
/// ```
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The media types a body input accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaType {
    /// `application/json` or `application/<anything>+json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

impl MediaType {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Form => "application/x-www-form-urlencoded",
        }
    }

    /// Whether `Content-Type` names this media type (parameters such as `charset` are ignored).
    pub(crate) fn matches(self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
            return false;
        };
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match self {
            Self::Json => {
                essence == "application/json"
                    || essence
                        .strip_prefix("application/")
                        .is_some_and(|subtype| subtype.ends_with("+json") && subtype.len() > "+json".len())
            }
            Self::Form => essence == "application/x-www-form-urlencoded",
        }
    }
}

/// Why a request's body framing headers are refused; see the module docs. The token endpoint
/// shares the check and answers in RFC 6749's format instead of problem+json.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FramingIssue {
    /// A `Content-Encoding` other than `identity`.
    Encoded,
    /// More than one `Content-Type` header.
    DuplicateContentType,
}

impl FramingIssue {
    fn problem(self) -> Problem {
        match self {
            Self::Encoded => unsupported_content_encoding(),
            Self::DuplicateContentType => duplicate_content_type(),
        }
    }
}

/// Refuses a body that is content-encoded or has two `Content-Type` headers.
pub(crate) fn check_framing(headers: &HeaderMap) -> Result<(), FramingIssue> {
    let mut content_types = headers.get_all(header::CONTENT_TYPE).iter();
    if content_types.next().is_some() && content_types.next().is_some() {
        return Err(FramingIssue::DuplicateContentType);
    }
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let Ok(value) = value.to_str() else {
            return Err(FramingIssue::Encoded);
        };
        // Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1) and mean nothing.
        let encoded = value
            .split(',')
            .map(str::trim)
            .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"));
        if encoded {
            return Err(FramingIssue::Encoded);
        }
    }
    Ok(())
}

/// Checks the length, the framing headers and the media type, then reads at most `limit` bytes.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    media_type: MediaType,
    limit: usize,
) -> Result<Bytes, Problem> {
    if let Some(length) = headers.get(header::CONTENT_LENGTH) {
        let length = length.to_str().ok().and_then(|text| text.trim().parse::<u64>().ok());
        match length {
            None => return Err(malformed("The `Content-Length` header is not a number.")),
            Some(length) if length > limit as u64 => return Err(too_large(limit)),
            Some(_) => {}
        }
    }
    check_framing(headers).map_err(FramingIssue::problem)?;
    if !media_type.matches(headers) {
        return Err(unsupported_media_type(media_type.name()));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(error) if crate::serve::is_body_read_timeout(error.as_ref()) => Err(body_timeout()),
        Err(error) => {
            tracing::debug!(
                target: "secure_api::validate",
                error = crate::audit::LogSafe::display(&error).as_str(),
                "request body could not be read"
            );
            Err(malformed("The request body could not be read."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn json_media_types() {
        assert!(MediaType::Json.matches(&with_type("application/json")));
        assert!(MediaType::Json.matches(&with_type("Application/JSON; charset=utf-8")));
        assert!(MediaType::Json.matches(&with_type("application/merge-patch+json")));
        assert!(!MediaType::Json.matches(&with_type("application/+json")));
        assert!(!MediaType::Json.matches(&with_type("text/json")));
        assert!(!MediaType::Json.matches(&with_type("application/jsonx")));
        assert!(!MediaType::Json.matches(&HeaderMap::new()));
        assert!(MediaType::Form.matches(&with_type("application/x-www-form-urlencoded")));
        assert!(!MediaType::Form.matches(&with_type("multipart/form-data")));
    }

    #[tokio::test]
    async fn limits_and_statuses() {
        let mut headers = with_type("application/json");
        let ok = read(&headers, Body::from("{}"), MediaType::Json, 2).await.unwrap();
        assert_eq!(ok, "{}");
        let error = read(&headers, Body::from("{\"a\":1}"), MediaType::Json, 2).await.unwrap_err();
        assert_eq!(error.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        let error = read(&headers, Body::empty(), MediaType::Json, 2).await.unwrap_err();
        assert_eq!(error.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("nope"));
        let error = read(&headers, Body::empty(), MediaType::Json, 2).await.unwrap_err();
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        let error = read(&with_type("text/plain"), Body::from("{}"), MediaType::Json, 2).await.unwrap_err();
        assert_eq!(error.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn only_identity_content_coding_and_one_content_type_pass() {
        let framing = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, HeaderValue::from_static(value));
            }
            check_framing(&headers)
        };
        assert_eq!(framing(&[("content-type", "application/json")]), Ok(()));
        assert_eq!(framing(&[("content-encoding", "identity")]), Ok(()));
        assert_eq!(framing(&[("content-encoding", "Identity, ")]), Ok(()));
        for coding in ["gzip", "deflate", "br", "zstd", "identity, gzip", "x-gzip", "compress"] {
            assert_eq!(framing(&[("content-encoding", coding)]), Err(FramingIssue::Encoded), "{coding}");
        }
        assert_eq!(
            framing(&[("content-encoding", "identity"), ("content-encoding", "gzip")]),
            Err(FramingIssue::Encoded)
        );
        let two = [("content-type", "application/json"), ("content-type", "application/json")];
        assert_eq!(framing(&two), Err(FramingIssue::DuplicateContentType));
    }
}
