//! The one error envelope: RFC 9457 `application/problem+json`.
//!
//! Every rejection the framework produces (authentication, authorization, rate limits, validation,
//! gateway rules) renders through [`Problem`], so clients parse one shape and no internal detail
//! (crate names, file paths, panics) can slip into a body: a `Problem` only carries text the
//! framework chose for the client.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use crate::audit::Outcome;

/// The media type of every rejection body (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: `type`, `title`, `status`, `detail`, plus extension members.
///
/// Build one with [`Problem::new`], add headers or extensions, and return it from a handler or
/// an extractor; it becomes a response with `Content-Type: application/problem+json`.
///
/// # Examples
/// ```
/// use secure_api::Problem;
/// use http::StatusCode;
///
/// let problem = Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found")
///     .with_detail("No item has that id.");
/// assert_eq!(problem.status(), StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    // Boxed: rejections travel in `Result::Err` through every extractor, and a small `Err`
    // keeps the success path's `Result` small.
    inner: Box<ProblemInner>,
}

#[derive(Debug, Clone)]
struct ProblemInner {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    extensions: Map<String, Value>,
    headers: HeaderMap,
    outcome: Option<Outcome>,
}

impl Problem {
    /// A problem with `status`, a `type` URI ending in `slug` (`urn:secure-api:problem:<slug>`), and
    /// a short, fixed `title`.
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        let inner = ProblemInner {
            status,
            slug,
            title,
            detail: None,
            extensions: Map::new(),
            headers: HeaderMap::new(),
            outcome: None,
        };
        Self { inner: Box::new(inner) }
    }

    /// A human sentence for the client explaining this occurrence. Never put internal error text here.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    /// An extension member (RFC 9457 §3.2), e.g. `errors` for validation failures.
    pub fn with_extension(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.inner.extensions.insert(name.into(), value.into());
        self
    }

    /// A response header sent with the problem, e.g. `WWW-Authenticate` or `Retry-After`.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// Replaces every value of a response header (a `DPoP` challenge for a `Bearer` one).
    pub(crate) fn replace_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.inner.headers.insert(name, value);
    }

    /// The outcome written to the audit log for this rejection (e.g. `denied:invalid_token`).
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.inner.outcome = Some(outcome);
        self
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The `type` member: a stable URN clients can match on.
    pub fn type_uri(&self) -> String {
        format!("urn:secure-api:problem:{}", self.inner.slug)
    }

    /// The JSON body as a [`Value`].
    pub fn body(&self) -> Value {
        let mut body = Map::with_capacity(4 + self.inner.extensions.len());
        body.insert("type".into(), Value::String(self.type_uri()));
        body.insert("title".into(), Value::String(self.inner.title.into()));
        body.insert("status".into(), Value::from(self.inner.status.as_u16()));
        if let Some(detail) = &self.inner.detail {
            body.insert("detail".into(), Value::String(detail.clone()));
        }
        for (name, value) in &self.inner.extensions {
            body.insert(name.clone(), value.clone());
        }
        Value::Object(body)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let ProblemInner { status, headers: extra_headers, outcome, .. } = *self.inner;
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // A rejection is about this request only; caches must never replay it to someone else.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // `HeaderMap`'s iterator names a header once, then yields `None` for its further
        // values (several `WWW-Authenticate` challenges): keep the last name seen.
        let mut current = None;
        for (name, value) in extra_headers {
            if name.is_some() {
                current = name;
            }
            if let Some(name) = &current {
                headers.append(name.clone(), value);
            }
        }
        let outcome = outcome.unwrap_or_else(|| Outcome::from_status(status));
        response.extensions_mut().insert(outcome);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc9457_members_and_headers() {
        let response = Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
            .with_detail("nope")
            .with_extension("scope", "items:write")
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn repeated_headers_are_all_sent() {
        let response = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("ApiKey"))
            .into_response();
        let challenges: Vec<_> = response.headers().get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert_eq!(challenges, ["Bearer", "ApiKey"]);
    }

    #[test]
    fn body_has_type_title_status_detail_and_extensions() {
        let body = Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden")
            .with_detail("nope")
            .with_extension("scope", "items:write")
            .body();
        assert_eq!(body["type"], "urn:secure-api:problem:forbidden");
        assert_eq!(body["title"], "Forbidden");
        assert_eq!(body["status"], 403);
        assert_eq!(body["detail"], "nope");
        assert_eq!(body["scope"], "items:write");
    }
}
