//! OpenAPI 3.1 security from the recorded route policies (feature `openapi`): the security
//! schemes under `components.securitySchemes` and each operation's `security` requirements, so
//! the documentation cannot drift from what the guards enforce.
//!
//! Bearer routes require `bearerAuth` (HTTP bearer, JWT) with the route's scopes; API-key routes
//! require `apiKeyAuth` (an API key in a header); a route accepting either lists both
//! requirements (any one suffices); `auth_optional` adds the empty requirement `{}`; public
//! routes get `security: []`, which overrides any document-wide requirement.
//!
//! # Examples
//! ```
//! use secure_api::routing::get;
//! use secure_api::{SecureRouter, public, secure};
//!
//! #[secure(auth = "oauth", scopes = ["items:read"])]
//! async fn list() -> &'static str { "[]" }
//! #[public]
//! async fn health() -> &'static str { "ok" }
//!
//! let routes: SecureRouter<secure_api::Security> =
//!     SecureRouter::new().route("/items", get(list)).route("/health", get(health));
//! let document = secure_api::openapi::document("My API", "1.0.0", routes.routes());
//! let json = serde_json::to_value(&document).unwrap();
//! assert_eq!(json["openapi"], "3.1.0");
//! assert_eq!(json["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
//! assert_eq!(json["paths"]["/items"]["get"]["security"], serde_json::json!([{"bearerAuth": ["items:read"]}]));
//! assert_eq!(json["paths"]["/health"]["get"]["security"], serde_json::json!([]));
//! ```

use http::Method;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Components, Info, OpenApi, Paths};

use crate::RouteInfo;
use crate::auth::AuthScheme;
use crate::auth::api_key::DEFAULT_API_KEY_HEADER;

pub use utoipa;

/// The security scheme name of bearer tokens.
pub const BEARER_SCHEME: &str = "bearerAuth";
/// The security scheme name of API keys.
pub const API_KEY_SCHEME: &str = "apiKeyAuth";

/// A new OpenAPI 3.1 document titled `title` at `version` with every route of `routes` and its
/// security (see the [module docs](self)).
pub fn document(title: &str, version: &str, routes: &[RouteInfo]) -> OpenApi {
    let mut openapi = OpenApi::new(Info::new(title, version), Paths::new());
    apply(&mut openapi, routes);
    openapi
}

/// Adds the security schemes and every route's requirements to an existing document (e.g. one
/// from `#[derive(utoipa::OpenApi)]`); operations missing from it are added. API keys are
/// documented in `x-api-key`; see [`apply_with_api_key_header`] for another header.
pub fn apply(openapi: &mut OpenApi, routes: &[RouteInfo]) {
    apply_with_api_key_header(openapi, routes, DEFAULT_API_KEY_HEADER);
}

/// [`apply`] for an app whose API keys travel in `header`.
///
/// # Examples
/// ```
/// # use secure_api::routing::get;
/// # use secure_api::{SecureRouter, secure};
/// #[secure(auth = "api_key")]
/// async fn reports() -> &'static str { "{}" }
///
/// let routes: SecureRouter<secure_api::Security> = SecureRouter::new().route("/reports", get(reports));
/// let mut document = secure_api::openapi::document("API", "1", &[]);
/// secure_api::openapi::apply_with_api_key_header(&mut document, routes.routes(), "x-client-key");
/// let json = serde_json::to_value(&document).unwrap();
/// assert_eq!(json["components"]["securitySchemes"]["apiKeyAuth"]["name"], "x-client-key");
/// assert_eq!(json["paths"]["/reports"]["get"]["security"], serde_json::json!([{"apiKeyAuth": []}]));
/// ```
pub fn apply_with_api_key_header(openapi: &mut OpenApi, routes: &[RouteInfo], header: &str) {
    let mut uses_bearer = false;
    let mut uses_api_key = false;
    for route in routes {
        let policy = &route.policy;
        let requirements: Vec<SecurityRequirement> = if policy.is_public() {
            Vec::new()
        } else {
            let mut requirements: Vec<SecurityRequirement> = policy
                .auth()
                .iter()
                .map(|scheme| {
                    let name = match scheme {
                        AuthScheme::Bearer => {
                            uses_bearer = true;
                            BEARER_SCHEME
                        }
                        AuthScheme::ApiKey => {
                            uses_api_key = true;
                            API_KEY_SCHEME
                        }
                    };
                    SecurityRequirement::new(name, policy.scopes().iter().copied())
                })
                .collect();
            if policy.is_auth_optional() {
                requirements.push(SecurityRequirement::default());
            }
            requirements
        };
        let item = openapi.paths.paths.entry(route.path.clone()).or_default();
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
