//! [`Validated`]: the extractor `#[secure(validate)]` wraps each `Json`, `Form`, `Query` and
//! `Path` input in. It runs [pipeline](crate::pipeline) step 6 for that input.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::{Form, Json};
use http::request::Parts;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::body::{self, MediaType};
use super::collect::{self, Mode};
use super::error::{FieldError, InputSource, LocSegment, malformed, unprocessable};
use super::input::ValidateInput;
use super::json::{self, JsonIssue, MAX_JSON_DEPTH};
use super::threat_hook;
use crate::policy::Policy;
use crate::problem::Problem;
use crate::state::Security;

/// An input that passed [pipeline](crate::pipeline) step 6: read within the route's body limit, in the
/// right media type, parsed (no duplicate keys, bounded depth, finite numbers), matched against
/// the request model (unknown fields rejected) and checked against its rules. `P` is the
/// route's policy type, which carries the body limit.
///
/// Not written by hand: `#[secure(validate)]` rewrites `Json(item): Json<NewItem>` into
/// `Validated(Json(item), _): Validated<Json<NewItem>, __SecurePolicy_handler>`, so the handler
/// body is unchanged. Every failure is a [`Problem`]: 413, 415, 400 or 422 with `errors`.
///
/// # Examples
/// What the macro writes, by hand (`P` is any [`Policy`]):
/// ```
/// use axum::Json;
/// use secure_api::{policy::Policy, policy::RoutePolicy, request, validate::Validated};
///
/// #[request]
/// struct Note {
///     #[validate(length(min = 1, max = 500))]
///     text: String,
/// }
///
/// struct NotePolicy;
/// impl Policy for NotePolicy {
///     const POLICY: RoutePolicy = RoutePolicy::public("app::note").with_max_body(4096);
/// }
///
/// async fn note(Validated(Json(note), _): Validated<Json<Note>, NotePolicy>) -> String {
///     note.text
/// }
/// ```
pub struct Validated<E, P>(pub E, pub PhantomData<fn() -> P>);

impl<E: std::fmt::Debug, P> std::fmt::Debug for Validated<E, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Validated").field(&self.0).finish()
    }
}

impl<S, T, P> FromRequest<S> for Validated<Json<T>, P>
where
    T: DeserializeOwned + ValidateInput,
    P: Policy,
    Security: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let policy = &P::POLICY;
        let (parts, body) = request.into_parts();
        let bytes = body::read(&parts.headers, body, MediaType::Json, policy.max_body()).await?;
        let value = parse_json(&bytes)?;
        threat_hook::inspect_body_strings(&Security::from_ref(state), policy, &parts, InputSource::Body, &value)?;
        let item = model(&value, Mode::Json, InputSource::Body)?;
        Ok(Self(Json(item), PhantomData))
    }
}

impl<S, T, P> FromRequest<S> for Validated<Form<T>, P>
where
    T: DeserializeOwned + ValidateInput,
    P: Policy,
    Security: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let policy = &P::POLICY;
        let (parts, body) = request.into_parts();
        // Like axum's `Form`: on GET and HEAD the form is the query string.
        let (source, value) = if parts.method == Method::GET || parts.method == Method::HEAD {
            (InputSource::Query, pairs_to_object(parts.uri.query().unwrap_or_default().as_bytes(), InputSource::Query)?)
        } else {
            let bytes = body::read(&parts.headers, body, MediaType::Form, policy.max_body()).await?;
            let value = pairs_to_object(&bytes, InputSource::Body)?;
            threat_hook::inspect_body_strings(&Security::from_ref(state), policy, &parts, InputSource::Body, &value)?;
            (InputSource::Body, value)
        };
        let item = model(&value, Mode::Text, source)?;
        Ok(Self(Form(item), PhantomData))
    }
}

impl<S, T, P> FromRequestParts<S> for Validated<axum::extract::Query<T>, P>
where
    T: DeserializeOwned + ValidateInput,
    P: Policy,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let value = pairs_to_object(parts.uri.query().unwrap_or_default().as_bytes(), InputSource::Query)?;
        let item = model(&value, Mode::Text, InputSource::Query)?;
        Ok(Self(axum::extract::Query(item), PhantomData))
    }
}

impl<S, T, P> FromRequestParts<S> for Validated<axum::extract::Path<T>, P>
where
    T: DeserializeOwned + ValidateInput + Send,
    P: Policy,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        // axum's own path deserializer decides how parameters map onto `T` (one value, a tuple,
        // a struct); its errors are translated into our envelope.
        let path = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(path) => path,
            Err(rejection) => return Err(path_rejection(parts, state, rejection).await),
        };
        if let Err(errors) = path.0.validate_input() {
            return Err(unprocessable(InputSource::Path, errors));
        }
        Ok(Self(path, PhantomData))
    }
}

/// A `Path<T>` input of a handler without `validate`: axum deserializes it, and a value that
/// does not fit (`/items/abc` for a `u64`) is answered with the same 422 problem as under
/// `validate`, never with axum's plain-text 400. `#[secure]` and `#[public]` insert it.
///
/// Not written by hand; the response contract (every rejection a problem) holds for every
/// annotated handler's path parameters, checked or not.
pub struct UncheckedPath<E>(pub E);

impl<S, T> FromRequestParts<S> for UncheckedPath<axum::extract::Path<T>>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(path) => Ok(Self(path)),
            Err(rejection) => Err(path_rejection(parts, state, rejection).await),
        }
    }
}

/// JSON bytes into a [`Value`], with our limits; parse failures into 400 or 422.
fn parse_json(bytes: &[u8]) -> Result<Value, Problem> {
    json::parse(bytes, MAX_JSON_DEPTH).map_err(|issue| match issue {
        JsonIssue::Syntax { eof: true, .. } if bytes.iter().all(u8::is_ascii_whitespace) => {
            malformed("The request body is empty; send a JSON value.")
        }
        JsonIssue::Syntax { eof: true, .. } => malformed("The request body is not valid JSON: it ends too early."),
        JsonIssue::Syntax { line, column, .. } => {
            malformed(format!("The request body is not valid JSON (line {line}, column {column})."))
        }
        JsonIssue::TooDeep { max } => {
            malformed(format!("The request body nests arrays and objects deeper than {max} levels."))
        }
        JsonIssue::Field(error) => unprocessable(InputSource::Body, vec![error]),
    })
}

/// `a=1&b=x` into `{"a": "1", "b": "x"}`. A repeated key is an error, as in JSON.
fn pairs_to_object(bytes: &[u8], source: InputSource) -> Result<Value, Problem> {
    let mut object = Map::new();
    let mut duplicates = Vec::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        if object.contains_key(key.as_ref()) {
            duplicates.push(
                FieldError::new("duplicate_key", "Duplicate key: each key may appear only once")
                    .at([LocSegment::from(key.into_owned())]),
            );
            continue;
        }
        object.insert(key.into_owned(), Value::String(value.into_owned()));
    }
    if duplicates.is_empty() { Ok(Value::Object(object)) } else { Err(unprocessable(source, duplicates)) }
}

/// The request model, then its rules: every error of both at once.
fn model<T: DeserializeOwned + ValidateInput>(value: &Value, mode: Mode, source: InputSource) -> Result<T, Problem> {
    let collected = collect::deserialize::<T>(value, mode);
    let mut errors = collected.errors;
    let Some(item) = collected.value else {
        return Err(unprocessable(source, errors));
    };
    if let Err(rule_errors) = item.validate_input() {
        // With model errors, the item holds placeholders where they were; a rule failing on a
        // placeholder is noise, so only rules on fields outside every model error count.
        let model_locs: Vec<Vec<LocSegment>> = errors.iter().map(|error| error.loc().to_vec()).collect();
        errors.extend(rule_errors.into_iter().filter(|rule| !model_locs.iter().any(|loc| rule.loc().starts_with(loc))));
    }
    if errors.is_empty() { Ok(item) } else { Err(unprocessable(source, errors)) }
}

/// axum's path errors in our envelope, with the parameter's name in `loc` and our own words.
async fn path_rejection<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    rejection: axum::extract::rejection::PathRejection,
) -> Problem {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;

    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        tracing::error!(target: "secure_api::validate", "a `Path` input is used on a route without path parameters");
        return Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal Server Error");
    };
    let error_at = |loc: Vec<LocSegment>, expected: &str| {
        let (kind, msg) = expected_kind(expected);
        unprocessable(InputSource::Path, vec![FieldError::new(kind, msg).at(loc)])
    };
    match failed.kind() {
        ErrorKind::ParseErrorAtKey { key, expected_type, .. } => {
            error_at(vec![LocSegment::from(key.clone())], expected_type)
        }
        ErrorKind::ParseErrorAtIndex { index, expected_type, .. } => {
            // Tuples are positional; the route's parameter name says more to a client.
            let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await.ok();
            let name = raw.and_then(|raw| raw.iter().nth(*index).map(|(name, _)| name.to_owned()));
            error_at(vec![name.map(LocSegment::from).unwrap_or(LocSegment::Index(*index))], expected_type)
        }
        ErrorKind::ParseError { expected_type, .. } => {
            let raw = axum::extract::RawPathParams::from_request_parts(parts, state).await.ok();
            let name = raw.and_then(|raw| raw.iter().next().map(|(name, _)| name.to_owned()));
            error_at(name.map(LocSegment::from).into_iter().collect(), expected_type)
        }
        ErrorKind::InvalidUtf8InPathParam { key } => unprocessable(
            InputSource::Path,
            vec![FieldError::new("utf8", "Input should be valid UTF-8").at([LocSegment::from(key.clone())])],
        ),
        ErrorKind::DeserializeError { key, .. } => unprocessable(
            InputSource::Path,
            vec![FieldError::new("invalid", "Input is not valid for this field").at([LocSegment::from(key.clone())])],
        ),
        ErrorKind::Message(_) => {
            unprocessable(InputSource::Path, vec![FieldError::new("invalid", "Input is not valid for this field")])
        }
        other => {
            // Wrong number of parameters or an unsupported type: the route and the handler
            // disagree, a programming error. Fail closed and tell the operator.
            tracing::error!(
                target: "secure_api::validate",
                error = crate::audit::LogSafe::display(&other).as_str(),
                "`Path` input does not fit the route"
            );
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal Server Error")
        }
    }
}

/// A client-facing code and sentence for axum's Rust type name (never shown itself).
fn expected_kind(rust_type: &str) -> (&'static str, &'static str) {
    let name = rust_type.rsplit("::").next().unwrap_or(rust_type);
    match name {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
            ("int_parsing", "Input should be a valid integer")
        }
        "f32" | "f64" => ("float_parsing", "Input should be a valid number"),
        "bool" => ("bool_parsing", "Input should be a valid boolean"),
        "char" => ("char_type", "Input should be a single character"),
        "Uuid" => ("uuid_parsing", "Input should be a valid UUID"),
        _ => ("invalid", "Input is not valid for this field"),
    }
}
