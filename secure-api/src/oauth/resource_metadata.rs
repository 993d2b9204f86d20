//! OAuth 2.0 protected-resource metadata (RFC 9728): how to call this API, generated from the
//! recorded routes and served at `/.well-known/oauth-protected-resource`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::auth::AuthScheme;
use crate::auth::dpop::DpopVerifier;
use crate::config::ConfigError;
use crate::problem::Problem;
use crate::routing::RouteInfo;
use crate::state::Security;

/// The path of the metadata for a resource at the root of its host (RFC 9728 §3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// What RFC 9728 metadata says about this API: its identifier, the authorization servers that
/// issue tokens for it, and, from the recorded routes, the scopes and whether every route
/// requires DPoP-bound tokens or accepts certificate-bound ones. The DPoP algorithms come from the app's
/// [`DpopVerifier`] when the document is rendered.
///
/// Put it in [`Security`] with [`SecurityBuilder::resource_metadata`](crate::SecurityBuilder::resource_metadata)
/// and mount [`metadata_handler`] at [`ResourceMetadata::well_known_path`]; 401 challenges then
/// carry `resource_metadata="<its URL>"` (RFC 9728 §5.1).
///
/// # Examples
/// ```
/// use secure_api::oauth::ResourceMetadata;
///
/// let metadata = ResourceMetadata::new("https://api.example.com")
///     .unwrap()
///     .authorization_server("https://idp.example.com");
/// assert_eq!(metadata.url(), "https://api.example.com/.well-known/oauth-protected-resource");
/// assert!(ResourceMetadata::new("https://api.example.com/?q#f").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    bound_required: bool,
    certificate_bound: bool,
    resource_name: Option<String>,
}

impl ResourceMetadata {
    /// Metadata for the resource identified by `resource`: an `https` (or, for local use,
    /// `http`) URL without query or fragment (RFC 9728 §1.2).
    pub fn new(resource: impl Into<String>) -> Result<Self, ConfigError> {
        let resource = resource.into();
        let uri: http::Uri =
            resource.parse().map_err(|_| ConfigError::new("the resource identifier must be an absolute URL"))?;
        let usable = matches!(uri.scheme_str(), Some("https" | "http"))
            && uri.authority().is_some_and(|authority| !authority.as_str().contains('@'))
            && uri.query().is_none()
            && !resource.contains('#');
        if !usable {
            return Err(ConfigError::new(
                "the resource identifier must be an https URL without userinfo, query or fragment (RFC 9728 §1.2)",
            ));
        }
        Ok(Self {
            resource: resource.trim_end_matches('/').to_owned(),
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            bound_required: false,
            certificate_bound: false,
            resource_name: None,
        })
    }

    /// An authorization server (its issuer identifier) whose tokens this API accepts.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Every issuer of `issuers` as an authorization server, in their configured order,
    /// skipping any already listed: the metadata then names exactly the issuers whose tokens
    /// the API verifies.
    ///
    /// ```
    /// use secure_api::auth::{Issuers, JwtVerifier, VerificationKey};
    /// use secure_api::oauth::ResourceMetadata;
    ///
    /// let verifier = |issuer: &str| {
    ///     JwtVerifier::builder()
    ///         .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
    ///         .issuer(issuer)
    ///         .build()
    ///         .unwrap()
    /// };
    /// let issuers = Issuers::builder().trust(verifier("https://a.example")).trust(verifier("https://b.example")).build().unwrap();
    /// let metadata = ResourceMetadata::new("https://api.example").unwrap().authorization_servers_of(&issuers);
    /// let document = metadata.document(&Default::default());
    /// assert_eq!(document["authorization_servers"], serde_json::json!(["https://a.example", "https://b.example"]));
    /// ```
    pub fn authorization_servers_of(mut self, issuers: &crate::auth::Issuers) -> Self {
        for issuer in issuers.names() {
            if !self.authorization_servers.iter().any(|known| known == issuer) {
                self.authorization_servers.push(issuer.to_owned());
            }
        }
        self
    }

    /// A human-readable name of the API (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Reads the recorded routes: every scope an OAuth route requires (`scopes_supported`),
    /// whether every OAuth route requires DPoP-bound tokens (`dpop_bound_access_tokens_required`),
    /// and whether some route accepts certificate-bound tokens, `bound = "mtls"` or `"any"`
    /// (`tls_client_certificate_bound_access_tokens`, RFC 9728 §2 with RFC 8705).
    ///
    /// ```
    /// use secure_api::oauth::ResourceMetadata;
    /// use secure_api::{routing::RouteInfo, policy::RoutePolicy, policy::TokenBinding, auth::AuthScheme};
    ///
    /// let route = |path: &str, policy| RouteInfo { method: http::Method::GET, path: path.into(), policy };
    /// const READ: RoutePolicy = RoutePolicy::secured("a").with_auth(&[AuthScheme::Bearer]).with_scopes(&["read"]);
    /// const BOUND: RoutePolicy = READ.with_binding(TokenBinding::Dpop);
    /// let metadata = ResourceMetadata::new("https://api.example").unwrap().routes(&[route("/a", READ), route("/b", BOUND)]);
    /// let document = metadata.document(&Default::default());
    /// assert_eq!(document["scopes_supported"], serde_json::json!(["read"]));
    /// assert_eq!(document["dpop_bound_access_tokens_required"], false);
    /// assert_eq!(document["tls_client_certificate_bound_access_tokens"], false);
    /// ```
    pub fn routes(mut self, routes: &[RouteInfo]) -> Self {
        let oauth: Vec<&RouteInfo> =
            routes.iter().filter(|route| route.policy.auth().contains(&AuthScheme::Bearer)).collect();
        for route in &oauth {
            for scope in route.policy.scopes() {
                if !self.scopes.iter().any(|known| known == scope) {
                    self.scopes.push((*scope).to_owned());
                }
            }
        }
        // Only routes that take DPoP-bound tokens and nothing else require them (`bound = "any"`
        // also takes certificate-bound tokens).
        self.bound_required = !oauth.is_empty()
            && oauth.iter().all(|route| route.policy.binding() == Some(crate::policy::TokenBinding::Dpop));
        // A route that names certificate binding is one a client can call with a certificate-bound
        // token; without such a route the app gives no client a reason to ask for one.
        self.certificate_bound = oauth
            .iter()
            .any(|route| route.policy.binding().is_some_and(crate::policy::TokenBinding::accepts_certificate));
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path to mount [`metadata_handler`] at: the well-known path, followed by the
    /// resource identifier's path if it has one (RFC 9728 §3.1).
    pub fn well_known_path(&self) -> String {
        format!("{WELL_KNOWN_PATH}{}", self.resource_path())
    }

    /// The metadata's URL, named in 401 challenges as `resource_metadata`.
    pub fn url(&self) -> String {
        let origin = self.resource.strip_suffix(self.resource_path()).unwrap_or(&self.resource);
        format!("{origin}{}", self.well_known_path())
    }

    fn resource_path(&self) -> &str {
        let after_scheme = self.resource.split_once("://").map_or("", |(_, rest)| rest);
        after_scheme.find('/').and_then(|at| after_scheme.get(at..)).unwrap_or("")
    }

    /// The JSON document (RFC 9728 §2), with the DPoP algorithms `dpop` accepts.
    pub fn document(&self, dpop: &DpopVerifier) -> Value {
        let algorithms: Vec<&str> = dpop.algorithms_parameter().split(' ').collect();
        let mut document = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "scopes_supported": self.scopes,
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": algorithms,
            "dpop_bound_access_tokens_required": self.bound_required,
            "tls_client_certificate_bound_access_tokens": self.certificate_bound,
        });
        if let (Some(name), Some(object)) = (&self.resource_name, document.as_object_mut()) {
            object.insert("resource_name".to_owned(), json!(name));
        }
        document
    }
}

/// `GET /.well-known/oauth-protected-resource`: the app's [`ResourceMetadata`] as JSON, or a
/// 404 problem when none is configured.
#[crate::public]
pub async fn metadata_handler(State(security): State<Security>) -> Response {
    let Some(metadata) = &security.config().resource_metadata else {
        return Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found")
            .with_detail("This API publishes no resource metadata.")
            .into_response();
    };
    let mut response = axum::Json(metadata.document(security.dpop())).into_response();
    // Public and the same for everyone; a client may cache it for a while.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_url_inserts_the_path_after_the_host() {
        let root = ResourceMetadata::new("https://api.example.com/").unwrap();
        assert_eq!(root.resource(), "https://api.example.com");
        assert_eq!(root.url(), "https://api.example.com/.well-known/oauth-protected-resource");
        let nested = ResourceMetadata::new("https://api.example.com/v1").unwrap();
        assert_eq!(nested.well_known_path(), "/.well-known/oauth-protected-resource/v1");
        assert_eq!(nested.url(), "https://api.example.com/.well-known/oauth-protected-resource/v1");
    }

    #[test]
    fn certificate_bound_tokens_are_advertised_when_a_route_accepts_them() {
        use crate::policy::{RoutePolicy, TokenBinding};
        let route = |policy| RouteInfo { method: http::Method::GET, path: "/a".into(), policy };
        const PLAIN: RoutePolicy = RoutePolicy::secured("a").with_auth(&[AuthScheme::Bearer]);
        let render = |routes: &[RouteInfo]| {
            ResourceMetadata::new("https://api.example").unwrap().routes(routes).document(&DpopVerifier::default())
        };
        assert_eq!(render(&[route(PLAIN)])["tls_client_certificate_bound_access_tokens"], false);
        assert_eq!(
            render(&[route(PLAIN.with_binding(TokenBinding::Dpop))])["tls_client_certificate_bound_access_tokens"],
            false
        );
        for binding in [TokenBinding::Mtls, TokenBinding::Any] {
            let document = render(&[route(PLAIN), route(PLAIN.with_binding(binding))]);
            assert_eq!(document["tls_client_certificate_bound_access_tokens"], true, "{binding:?}");
            assert_eq!(document["dpop_bound_access_tokens_required"], false, "{binding:?}");
        }
    }

    #[test]
    fn identifiers_with_query_fragment_or_userinfo_are_refused() {
        for bad in ["https://a.example/?x=1", "https://a.example/#f", "https://u@a.example/", "ftp://a.example", "/x"] {
            assert!(ResourceMetadata::new(bad).is_err(), "{bad}");
        }
    }
}
