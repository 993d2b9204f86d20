//! What one failing input looks like on the wire, and the problems input failures render as.
//!
//! Every input failure (a body too large, a wrong content type, JSON that does not parse, a
//! model or rule violation in the body, the query or the path) becomes a [`Problem`]: 413, 415,
//! 400 or 422. The 422 carries every failing field at once in its `errors` extension, each as a
//! [`FieldError`]. Messages are the framework's own sentences: no serde or Rust type names.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::audit::Outcome;
use crate::problem::Problem;

/// At most this many errors are listed in one 422; the rest are counted in `errors_omitted`.
/// Keeps a hostile body with thousands of bad items from producing a huge response.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// One step of a [`FieldError`]'s location: an object key or a list index.
///
/// # Examples
/// ```
/// use secure_api::validate::LocSegment;
///
/// assert_eq!(LocSegment::from("price"), LocSegment::Key("price".into()));
/// assert_eq!(LocSegment::from(2), LocSegment::Index(2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocSegment {
    /// A position in a list.
    Index(usize),
    /// An object key, a query parameter or a path parameter.
    Key(Cow<'static, str>),
}

impl From<usize> for LocSegment {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

impl From<&'static str> for LocSegment {
    fn from(key: &'static str) -> Self {
        Self::Key(Cow::Borrowed(key))
    }
}

impl From<String> for LocSegment {
    fn from(key: String) -> Self {
        Self::Key(Cow::Owned(key))
    }
}

impl fmt::Display for LocSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(index) => write!(f, "{index}"),
            Self::Key(key) => f.write_str(key),
        }
    }
}

impl LocSegment {
    fn to_json(&self) -> Value {
        match self {
            Self::Index(index) => Value::from(*index),
            Self::Key(key) => Value::String(key.to_string()),
        }
    }
}

/// Which part of the request an input came from: the first element of every `loc`.
///
/// # Examples
/// ```
/// use secure_api::validate::InputSource;
///
/// assert_eq!(InputSource::Query.as_str(), "query");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// The request body (`Json`, `Form`).
    Body,
    /// The query string (`Query`, or `Form` on `GET`).
    Query,
    /// The path parameters (`Path`).
    Path,
}

impl InputSource {
    /// `body`, `query` or `path`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Query => "query",
            Self::Path => "path",
        }
    }
}

/// One failing field: where (`loc`), a human sentence (`msg`), a stable machine code (`type`)
/// and the rule's parameters (`ctx`, e.g. `{"max": 100}`).
///
/// Renders as `{"loc": ["body", "items", 2, "price"], "msg": "...", "type": "range", "ctx": {...}}`;
/// `ctx` is always present (`{}` when the rule has no parameters), so clients can rely on the shape.
///
/// # Examples
/// ```
/// use secure_api::validate::{FieldError, InputSource};
///
/// let error = FieldError::new("range", "Must be greater than 0")
///     .at(["items".into(), 2.into(), "price".into()])
///     .with_ctx("exclusive_min", 0);
/// let json = error.to_json(InputSource::Body);
/// assert_eq!(json["loc"], serde_json::json!(["body", "items", 2, "price"]));
/// assert_eq!(json["type"], "range");
/// assert_eq!(json["ctx"]["exclusive_min"], 0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    loc: Vec<LocSegment>,
    msg: Cow<'static, str>,
    kind: Cow<'static, str>,
    ctx: Map<String, Value>,
}

impl FieldError {
    /// An error of type `kind` (a short snake_case code) with the sentence `msg`, at the root of
    /// the input until [`FieldError::at`] says where.
    pub fn new(kind: impl Into<Cow<'static, str>>, msg: impl Into<Cow<'static, str>>) -> Self {
        Self { loc: Vec::new(), msg: msg.into(), kind: kind.into(), ctx: Map::new() }
    }

    /// Places the error at `loc`, relative to its input (the `body`/`query`/`path` prefix is
    /// added when the error is rendered).
    pub fn at(mut self, loc: impl IntoIterator<Item = LocSegment>) -> Self {
        self.loc = loc.into_iter().collect();
        self
    }

    /// Adds a parameter of the failed rule, e.g. `max = 100`.
    pub fn with_ctx(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.ctx.insert(name.into(), value.into());
        self
    }

    /// Puts `prefix` in front of the location (used when a nested input reports its errors).
    pub fn prefixed(mut self, prefix: &[LocSegment]) -> Self {
        if !prefix.is_empty() {
            let mut loc = prefix.to_vec();
            loc.append(&mut self.loc);
            self.loc = loc;
        }
        self
    }

    /// Where the error is, relative to its input.
    pub fn loc(&self) -> &[LocSegment] {
        &self.loc
    }

    /// The human sentence.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// The machine code, rendered as `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The rule's parameters.
    pub fn ctx(&self) -> &Map<String, Value> {
        &self.ctx
    }

    /// The JSON object clients receive, with `loc` starting at `source`.
    pub fn to_json(&self, source: InputSource) -> Value {
        let mut loc = Vec::with_capacity(self.loc.len() + 1);
        loc.push(Value::from(source.as_str()));
        loc.extend(self.loc.iter().map(LocSegment::to_json));
        let mut object = Map::with_capacity(4);
        object.insert("loc".into(), Value::Array(loc));
        object.insert("msg".into(), Value::String(self.msg.to_string()));
        object.insert("type".into(), Value::String(self.kind.to_string()));
        object.insert("ctx".into(), Value::Object(self.ctx.clone()));
        Value::Object(object)
    }
}

/// 422 with every error, sorted by location so the order is stable from one request to the next.
pub(crate) fn unprocessable(source: InputSource, mut errors: Vec<FieldError>) -> Problem {
    errors.sort_by(|a, b| a.loc.cmp(&b.loc));
    errors.dedup_by(|a, b| a.loc == b.loc && a.kind == b.kind);
    let total = errors.len();
    let listed: Vec<Value> = errors.iter().take(MAX_REPORTED_ERRORS).map(|error| error.to_json(source)).collect();
    let detail = match total {
        1 => format!("The {} has 1 invalid field; see `errors`.", source.as_str()),
        n => format!("The {} has {n} invalid fields; see `errors`.", source.as_str()),
    };
    let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Unprocessable Content")
        .with_detail(detail)
        .with_extension("errors", Value::Array(listed))
        .with_outcome(Outcome::INVALID_BODY);
    if total > MAX_REPORTED_ERRORS {
        problem = problem.with_extension("errors_omitted", total - MAX_REPORTED_ERRORS);
    }
    problem
}

/// 413: the body is larger than the route accepts.
pub(crate) fn too_large(limit: usize) -> Problem {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body-too-large", "Content Too Large")
        .with_detail(format!("The request body is larger than the {limit} bytes this route accepts."))
        .with_extension("max_bytes", limit)
        .with_outcome(Outcome::INVALID_BODY)
}

/// 415: the body is not in the media type the input expects.
pub(crate) fn unsupported_media_type(expected: &'static str) -> Problem {
    Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported Media Type")
        .with_detail(format!("Send the request body as `{expected}`, with a matching `Content-Type` header."))
        .with_outcome(Outcome::INVALID_BODY)
}

/// 415 with `Accept-Encoding: identity` (RFC 7694 §3): the body is content-encoded (`gzip`,
/// ...), and only unencoded bodies are accepted. Decoding is refused rather than skipped, so
/// no intermediary that decodes sees a different body than the one validated here.
pub(crate) fn unsupported_content_encoding() -> Problem {
    Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-content-encoding", "Unsupported Media Type")
        .with_detail("Send the request body without a `Content-Encoding` (only `identity` is accepted).")
        .with_extension("accepted_encodings", Value::Array(vec![Value::from("identity")]))
        .with_header(http::header::ACCEPT_ENCODING, http::HeaderValue::from_static("identity"))
        .with_outcome(Outcome::INVALID_BODY)
}

/// 400: the request names more than one `Content-Type` (RFC 9110 §8.3 allows one), so what the
/// body is depends on which one a reader picks.
pub(crate) fn duplicate_content_type() -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "duplicate-content-type", "Bad Request")
        .with_detail("Send exactly one `Content-Type` header.")
        .with_outcome(Outcome::INVALID_BODY)
}

/// 400: the body cannot be read as its media type at all.
/// The body did not arrive within the server's body-read timeout ([`crate::serve::ServeOptions`]):
/// 408, so the client knows to send faster rather than to fix its JSON.
pub(crate) fn body_timeout() -> Problem {
    Problem::new(StatusCode::REQUEST_TIMEOUT, "request-timeout", "Request Timeout")
        .with_detail("The request body did not arrive in time.")
        .with_outcome(Outcome::INVALID_BODY)
}

pub(crate) fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "malformed-body", "Bad Request")
        .with_detail(detail)
        .with_outcome(Outcome::INVALID_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_loc_msg_type_and_ctx() {
        let json = FieldError::new("length", "Must be at most 100 characters long")
            .at(["name".into()])
            .with_ctx("max", 100)
            .to_json(InputSource::Body);
        assert_eq!(
            json,
            serde_json::json!({
                "loc": ["body", "name"], "msg": "Must be at most 100 characters long", "type": "length", "ctx": {"max": 100}
            })
        );
        let empty_ctx = FieldError::new("missing", "Field required").to_json(InputSource::Query);
        assert_eq!(empty_ctx["ctx"], serde_json::json!({}));
        assert_eq!(empty_ctx["loc"], serde_json::json!(["query"]));
    }

    #[test]
    fn unprocessable_sorts_dedups_and_caps() {
        let mut errors = vec![
            FieldError::new("b", "b").at(["z".into()]),
            FieldError::new("a", "a").at(["a".into()]),
            FieldError::new("a", "a").at(["a".into()]),
        ];
        for index in 0..MAX_REPORTED_ERRORS + 5 {
            errors.push(FieldError::new("c", "c").at(["items".into(), index.into()]));
        }
        let body = unprocessable(InputSource::Body, errors).body();
        assert_eq!(body["status"], 422);
        let listed = body["errors"].as_array().unwrap();
        assert_eq!(listed.len(), MAX_REPORTED_ERRORS);
        assert_eq!(listed[0]["loc"], serde_json::json!(["body", "a"]));
        // 3 + 105 errors, one duplicate dropped, 100 listed.
        assert_eq!(body["errors_omitted"], 7);
    }

    #[test]
    fn loc_orders_indexes_numerically() {
        let mut locs = [vec![LocSegment::Index(10)], vec![LocSegment::Index(2)]];
        locs.sort();
        assert_eq!(locs[0], vec![LocSegment::Index(2)]);
    }
}
