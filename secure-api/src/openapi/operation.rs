//! One operation of the document: its parameters, request body and the responses its policy
//! can produce. Each rejection is listed only when the route's policy can send it.

use serde_json::{Map, Value, json};

use super::paths::PathParam;
use crate::policy::{ErrorFormat, RoutePolicy, Validation};
use crate::problem::PROBLEM_JSON;
use crate::validate::SchemaRegistry;

/// `#/components/schemas/Problem`: the RFC 9457 body of every rejection.
pub(super) const PROBLEM_SCHEMA: &str = "Problem";
/// `#/components/schemas/FieldError`: one entry of a 422's `errors`.
pub(super) const FIELD_ERROR_SCHEMA: &str = "FieldError";
/// `#/components/schemas/OAuthError`: the RFC 6749 §5.2 body of a route declared with
/// `#[public(errors = "oauth")]` (a token endpoint).
pub(super) const OAUTH_ERROR_SCHEMA: &str = "OAuthError";

/// The shared schemas every document holds.
pub(super) fn shared_schemas() -> [(&'static str, Value); 3] {
    [
        (
            PROBLEM_SCHEMA,
            json!({
                "type": "object",
                "description": "An RFC 9457 problem: the body of every rejection.",
                "properties": {
                    "type": {"type": "string", "format": "uri-reference"},
                    "title": {"type": "string"},
                    "status": {"type": "integer", "minimum": 100, "maximum": 599},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "description": "422 only: every failing field.",
                        "items": {"$ref": format!("#/components/schemas/{FIELD_ERROR_SCHEMA}")}
                    }
                },
                "required": ["type", "title", "status"]
            }),
        ),
        (
            FIELD_ERROR_SCHEMA,
            json!({
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"}
                },
                "required": ["loc", "msg", "type"]
            }),
        ),
        (
            OAUTH_ERROR_SCHEMA,
            json!({
                "type": "object",
                "description": "An RFC 6749 §5.2 error: the body of a token endpoint's own refusals.",
                "properties": {
                    "error": {"type": "string"},
                    "error_description": {"type": "string"},
                    "error_uri": {"type": "string", "format": "uri"}
                },
                "required": ["error"]
            }),
        ),
    ]
}

/// The operation of `policy` on a path with `params`, with `security` already decided.
pub(super) fn operation(
    policy: &RoutePolicy,
    params: &[PathParam],
    security: Vec<Value>,
    registry: &mut SchemaRegistry,
) -> Value {
    let mut operation = Map::new();
    if !params.is_empty() {
        let parameters: Vec<Value> = params.iter().map(path_parameter).collect();
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = policy.request_body() {
        let schema = body.schema(registry).unwrap_or_else(|| json!({}));
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": {body.media_type(): {"schema": schema}}}),
        );
    }
    operation.insert("responses".into(), Value::Object(responses(policy, !params.is_empty())));
    operation.insert("security".into(), Value::Array(security));
    if let Some(binding) = policy.binding() {
        // OpenAPI has no word for sender-constrained tokens; an extension says which binding
        // the operation requires (RFC 9449 DPoP: `Authorization: DPoP` with a `DPoP` proof).
        operation.insert("x-token-binding".into(), json!(binding.as_str()));
    }
    // Step-up authentication (RFC 9470) has no OpenAPI word either: the `acr` values a token
    // must carry and the largest age of its `auth_time`, in seconds.
    if !policy.acr_values().is_empty() {
        operation.insert("x-acr-values".into(), json!(policy.acr_values()));
    }
    if let Some(seconds) = policy.max_age() {
        operation.insert("x-max-age".into(), json!(seconds));
    }
    Value::Object(operation)
}

fn path_parameter(param: &PathParam) -> Value {
    let mut parameter = json!({"name": param.name, "in": "path", "required": true, "schema": {"type": "string"}});
    if param.wildcard
        && let Value::Object(object) = &mut parameter
    {
        object.insert("description".into(), json!("The rest of the path."));
    }
    parameter
}

/// What a policy can answer, each status only when the policy can produce it.
fn responses(policy: &RoutePolicy, has_path_params: bool) -> Map<String, Value> {
    let authenticates = !policy.is_public() && !policy.auth().is_empty();
    let limited = policy.rate().is_some();
    let reads_body = policy.request_body().is_some();
    let validates = policy.validation() == Validation::Enforced;
    let mut rate_headers = Map::new();
    if limited {
        rate_headers.insert("RateLimit".into(), header("The caller's remaining quota and its reset, in seconds."));
        rate_headers.insert("RateLimit-Policy".into(), header("The route's quota and window, in seconds."));
    }
    let mut responses = Map::new();
    responses.insert("2XX".into(), json!({"description": "Success.", "headers": rate_headers}));
    let mut problem = |status: u16, description: &str, headers: Map<String, Value>| {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "headers": headers,
                "content": {PROBLEM_JSON: {"schema": {"$ref": format!("#/components/schemas/{PROBLEM_SCHEMA}")}}}
            }),
        );
    };
    if authenticates || reads_body {
        problem(400, "Malformed credentials or an unparseable body.", Map::new());
    }
    if authenticates {
        let mut headers = rate_headers.clone();
        headers.insert("WWW-Authenticate".into(), header("The authentication challenge (RFC 6750 / RFC 9110)."));
        problem(401, "Missing or invalid credentials.", headers);
    }
    let forbids = !policy.scopes().is_empty()
        || policy.authorize().is_some()
        || !policy.allow_ips().is_empty()
        || !policy.deny_ips().is_empty()
        || policy.threat_detection();
    if forbids {
        let mut headers = Map::new();
        if !policy.scopes().is_empty() {
            headers.insert(
                "WWW-Authenticate".into(),
                header("`Bearer error=\"insufficient_scope\"` with the scopes needed."),
            );
        }
        problem(403, "The caller may not do this (scope, object check, address or threat rule).", headers);
    }
    if reads_body {
        problem(413, "The body is larger than the route accepts.", Map::new());
        problem(415, "The body's media type is not the one the route accepts.", Map::new());
    }
    if validates || reads_body || has_path_params {
        problem(422, "An input breaks its rules; `errors` lists every failing field.", Map::new());
    }
    if limited {
        let mut headers = rate_headers.clone();
        headers.insert(
            "Retry-After".into(),
            json!({"description": "Seconds until a request may succeed.", "schema": {"type": "integer", "minimum": 0}}),
        );
        problem(429, "The caller's quota for this route is used up.", headers);
    }
    if authenticates || limited {
        problem(503, "A store or identity provider the route depends on is unreachable (fail closed).", Map::new());
    }
    if policy.error_format() == ErrorFormat::OAuth {
        // The handler's own refusals (RFC 6749 §5.2); the layer's (429, 503) stay problems.
        let oauth = |description: &str, headers: Map<String, Value>| {
            json!({
                "description": description,
                "headers": headers,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{OAUTH_ERROR_SCHEMA}")}}}
            })
        };
        responses.insert(
            "400".into(),
            oauth("`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`, ...", Map::new()),
        );
        let mut headers = Map::new();
        headers.insert("WWW-Authenticate".into(), header("The client authentication challenge (`Basic`)."));
        responses.insert("401".into(), oauth("`invalid_client`: the client could not be authenticated.", headers));
    }
    responses
}

fn header(description: &str) -> Value {
    json!({"description": description, "schema": {"type": "string"}})
}
