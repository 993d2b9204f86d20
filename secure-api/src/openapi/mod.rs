//! OpenAPI 3.1 from the recorded route policies (feature `openapi`), so the documentation
//! cannot drift from what the guards enforce.
//!
//! [`document`] builds the whole document as JSON:
//! - every route as an operation, its path parameters from the route pattern (`{id}` →
//!   `in: path, required: true`; `{*rest}` → `{rest}`);
//! - its `security`: bearer routes require `bearerAuth` (HTTP bearer, JWT) with the route's
//!   scopes; API-key routes require `apiKeyAuth` (an API key in a header); a route accepting
//!   either lists both (any one suffices); `auth_optional` adds the empty requirement `{}`;
//!   public routes get `security: []`;
//! - its responses: a `2XX` success, and the `application/problem+json` rejections its policy
//!   can send, each only when it applies: 400 (malformed credentials or body), 401 with
//!   `WWW-Authenticate` (authenticated routes), 403 (scopes, with `WWW-Authenticate`; object
//!   checks; IP rules; threat detection), 413/415 (a body), 422 (validated inputs, path
//!   parameters), 429 with `Retry-After`, `RateLimit` and `RateLimit-Policy` (rate-limited
//!   routes, whose successes carry the RateLimit fields too), 503 (a store or identity provider
//!   down: fail closed);
//! - the request body of a `validate`d `Json<T>` / `Form<T>` input: the schema of its
//!   `#[secure_api::request]` type under `components.schemas`, with its rules
//!   ([`RequestSchema`](crate::validate::RequestSchema));
//! - the shared `Problem`, `FieldError` and `OAuthError` schemas (the last for routes declared
//!   `#[public(errors = "oauth")]`, whose own 400 and 401 are RFC 6749 §5.2 bodies).
//!
//! [`apply`] adds the security schemes and requirements to a document built with utoipa.
//!
//! # Examples
//! ```
//! use secure_api::routing::{get, post};
//! use axum::Json;
//! use axum::extract::Path;
//! use secure_api::{SecureRouter, public, secure};
//!
//! #[secure_api::request]
//! struct NewItem {
//!     #[validate(length(min = 1, max = 100))]
//!     name: String,
//! }
//!
//! #[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m")]
//! async fn show(Path(id): Path<u64>) -> String { id.to_string() }
//! #[secure(auth = "oauth", scopes = ["items:write"], validate)]
//! async fn create(Json(item): Json<NewItem>) -> String { item.name }
//! #[public]
//! async fn health() -> &'static str { "ok" }
//!
//! let routes: SecureRouter<secure_api::Security> = SecureRouter::new()
//!     .route("/items/{id}", get(show))
//!     .route("/items", post(create))
//!     .route("/health", get(health));
//! let json = secure_api::openapi::document("My API", "1.0.0", routes.routes());
//! assert_eq!(json["openapi"], "3.1.0");
//! assert_eq!(json["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
//! let show = &json["paths"]["/items/{id}"]["get"];
//! assert_eq!(show["security"], serde_json::json!([{"bearerAuth": ["items:read"]}]));
//! assert_eq!(show["parameters"][0]["in"], "path");
//! assert!(show["responses"]["429"]["headers"]["Retry-After"].is_object());
//! let create = &json["paths"]["/items"]["post"];
//! assert_eq!(create["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/NewItem");
//! assert_eq!(json["components"]["schemas"]["NewItem"]["properties"]["name"]["maxLength"], 100);
//! assert!(create["responses"]["429"].is_null(), "no rate, no 429");
//! assert_eq!(json["paths"]["/health"]["get"]["security"], serde_json::json!([]));
//! assert!(json["paths"]["/health"]["get"]["responses"]["401"].is_null(), "public: no 401");
//! ```

mod operation;
mod paths;

use http::Method;
use serde_json::{Map, Value, json};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Components, OpenApi};

use crate::auth::AuthScheme;
use crate::auth::DEFAULT_API_KEY_HEADER;
use crate::validate::SchemaRegistry;
use crate::{policy::RoutePolicy, routing::RouteInfo};

pub use utoipa;

/// The security scheme name of bearer tokens.
pub const BEARER_SCHEME: &str = "bearerAuth";
/// The security scheme name of API keys.
pub const API_KEY_SCHEME: &str = "apiKeyAuth";

/// The OpenAPI 3.1 document, titled `title` at `version`, of every route of `routes` (see the
/// [module docs](self)); API keys are documented in `x-api-key`.
pub fn document(title: &str, version: &str, routes: &[RouteInfo]) -> Value {
    document_with_api_key_header(title, version, routes, DEFAULT_API_KEY_HEADER)
}

/// [`document`] for an app whose API keys travel in `header`.
///
/// # Examples
/// ```
/// # use secure_api::routing::get;
/// # use secure_api::{SecureRouter, secure};
/// #[secure(auth = "api_key")]
/// async fn reports() -> &'static str { "{}" }
///
/// let routes: SecureRouter<secure_api::Security> = SecureRouter::new().route("/reports", get(reports));
/// let json = secure_api::openapi::document_with_api_key_header("API", "1", routes.routes(), "x-client-key");
/// assert_eq!(json["components"]["securitySchemes"]["apiKeyAuth"]["name"], "x-client-key");
/// assert_eq!(json["paths"]["/reports"]["get"]["security"], serde_json::json!([{"apiKeyAuth": []}]));
/// ```
pub fn document_with_api_key_header(title: &str, version: &str, routes: &[RouteInfo], header: &str) -> Value {
    let mut registry = SchemaRegistry::new();
    let mut paths: Map<String, Value> = Map::new();
    let (mut uses_bearer, mut uses_api_key) = (false, false);
    for route in routes {
        let Some(method) = method_key(&route.method) else {
            continue;
        };
        let requirements = requirements(&route.policy);
        uses_bearer |= requirements.iter().any(|(name, _)| *name == Some(BEARER_SCHEME));
        uses_api_key |= requirements.iter().any(|(name, _)| *name == Some(API_KEY_SCHEME));
        let security = requirements
            .into_iter()
            .map(|(name, scopes)| match name {
                Some(name) => json!({ name: scopes }),
                None => json!({}),
            })
            .collect();
        let (path, params) = paths::template(&route.path);
        let operation = operation::operation(&route.policy, &params, security, &mut registry);
        if let Value::Object(item) = paths.entry(path).or_insert_with(|| json!({})) {
            item.insert(method.to_owned(), operation);
        }
    }
    let mut schemas: Map<String, Value> =
        operation::shared_schemas().into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect();
    schemas.extend(registry.into_schemas());
    let mut security_schemes = Map::new();
    if uses_bearer {
        security_schemes
            .insert(BEARER_SCHEME.into(), json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}));
    }
    if uses_api_key {
        security_schemes.insert(API_KEY_SCHEME.into(), json!({"type": "apiKey", "in": "header", "name": header}));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes}
    })
}

/// A route's security requirements: `(Some(scheme), scopes)` each, `(None, [])` for "none needed".
fn requirements(policy: &RoutePolicy) -> Vec<(Option<&'static str>, Vec<&'static str>)> {
    if policy.is_public() {
        return Vec::new();
    }
    let mut requirements: Vec<(Option<&'static str>, Vec<&'static str>)> = policy
        .auth()
        .iter()
        .map(|scheme| {
            let name = match scheme {
                AuthScheme::Bearer => BEARER_SCHEME,
                AuthScheme::ApiKey => API_KEY_SCHEME,
            };
            (Some(name), policy.scopes().to_vec())
        })
        .collect();
    if policy.is_auth_optional() {
        requirements.push((None, Vec::new()));
    }
    requirements
}

fn method_key(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "get",
        Method::POST => "post",
        Method::PUT => "put",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        Method::HEAD => "head",
        Method::OPTIONS => "options",
        Method::TRACE => "trace",
        _ => return None,
    })
}

/// Adds the security schemes and every route's requirements to a document built with utoipa
/// (e.g. `#[derive(utoipa::OpenApi)]`); operations missing from it are added. API keys are
/// documented in `x-api-key`; see [`apply_with_api_key_header`] for another header. Responses,
/// parameters and request schemas are [`document`]'s.
pub fn apply(openapi: &mut OpenApi, routes: &[RouteInfo]) {
    apply_with_api_key_header(openapi, routes, DEFAULT_API_KEY_HEADER);
}

/// [`apply`] for an app whose API keys travel in `header`.
///
/// # Examples
/// ```
/// # use secure_api::routing::get;
/// # use secure_api::{SecureRouter, secure};
/// use secure_api::openapi::utoipa::openapi::{Info, OpenApi, Paths};
///
/// #[secure(auth = "api_key")]
/// async fn reports() -> &'static str { "{}" }
///
/// let routes: SecureRouter<secure_api::Security> = SecureRouter::new().route("/reports", get(reports));
/// let mut document = OpenApi::new(Info::new("API", "1"), Paths::new());
/// secure_api::openapi::apply_with_api_key_header(&mut document, routes.routes(), "x-client-key");
/// let json = serde_json::to_value(&document).unwrap();
/// assert_eq!(json["components"]["securitySchemes"]["apiKeyAuth"]["name"], "x-client-key");
/// assert_eq!(json["paths"]["/reports"]["get"]["security"], serde_json::json!([{"apiKeyAuth": []}]));
/// ```
pub fn apply_with_api_key_header(openapi: &mut OpenApi, routes: &[RouteInfo], header: &str) {
    let mut uses_bearer = false;
    let mut uses_api_key = false;
    for route in routes {
        let requirements: Vec<SecurityRequirement> = requirements(&route.policy)
            .into_iter()
            .map(|(name, scopes)| match name {
                Some(name) => {
                    uses_bearer |= name == BEARER_SCHEME;
                    uses_api_key |= name == API_KEY_SCHEME;
                    SecurityRequirement::new(name, scopes)
                }
                None => SecurityRequirement::default(),
            })
            .collect();
        let (path, _) = paths::template(&route.path);
        let item = openapi.paths.paths.entry(path).or_default();
        if let Some(slot) = operation_slot(item, &route.method) {
            slot.get_or_insert_with(Operation::new).security = Some(requirements);
        }
    }
    let components = openapi.components.get_or_insert_with(Components::new);
    if uses_bearer {
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(bearer));
    }
    if uses_api_key {
        components
            .add_security_scheme(API_KEY_SCHEME, SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(header))));
    }
}

fn operation_slot<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Option<Operation>> {
    Some(match *method {
        Method::GET => &mut item.get,
        Method::POST => &mut item.post,
        Method::PUT => &mut item.put,
        Method::PATCH => &mut item.patch,
        Method::DELETE => &mut item.delete,
        Method::HEAD => &mut item.head,
        Method::OPTIONS => &mut item.options,
        Method::TRACE => &mut item.trace,
        _ => return None,
    })
}
