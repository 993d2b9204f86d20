//! The quickstart API: items behind OAuth scopes, reports behind an API key, a token endpoint
//! and a health check.
//!
//! | route | policy |
//! |---|---|
//! | `GET /health` | `#[public]` |
//! | `POST /oauth/token` | `#[public]`, OAuth 2.0 client credentials, `rate = "10/1m"` per client IP |
//! | `GET /api/items` | `auth = "oauth"`, scope `items:read`, `rate = "100/15m"` per principal |
//! | `POST /api/items` | `auth = "oauth"`, scope `items:write`, `rate = "100/15m"` per principal, `validate`, `max_body = "16KiB"` |
//! | `GET /api/items/{id}` | `auth = "oauth"`, scope `items:read`, `rate = "100/15m"` per principal, `validate` (the id) |
//! | `GET /api/reports` | `auth = "api_key"`, `rate = "10/1m"` per API key |
//! | `GET /.well-known/oauth-protected-resource` | `#[public]`: RFC 9728 metadata (`SECURE_API_RESOURCE_URL`) |
//! | `GET /api/account` | `auth = "oauth"`, scope `items:read`, `rate = "100/15m"`, `bound = "any"`: DPoP-bound or certificate-bound tokens only |
//!
//! Rate limits are kept in memory, or in Redis when `SECURE_API_REDIS_URL` is set (then every
//! instance pointed at the same server shares them).
//!
//! With `SECURE_API_JWKS_URL`, the `oauth` routes also accept RS256, ES256 and EdDSA tokens
//! signed by that key set's keys (same `iss` and `aud` rules); build the app with [`load`],
//! which fetches the key set first and refuses to start when it cannot.

mod config;
mod handlers;
mod items;
mod server;

use axum::extract::FromRef;
use secure_api::audit::AuditLog;
use secure_api::auth::{Algorithm, ApiKeys, JwksKeys, JwtVerifier, TokenCache, VerificationKey};
use secure_api::oauth::{self, OAuthClient, TokenEndpoint};
use secure_api::rate::{RateLimits, RedisStore};
use secure_api::routing::{get, post};
use secure_api::threat::ThreatDetector;
use secure_api::{ConfigError, SecureApp, SecureRouter, Security, audit::AuditConfig};

pub use config::{Config, DpopNonce, LogFormat, PenaltySettings, TlsFiles};
pub use items::{Item, ItemStore};
pub use server::{Transport, serve, serve_with};

/// The scopes the registered client may request.
pub const CLIENT_SCOPES: [&str; 2] = ["items:read", "items:write"];

/// The app's state: the security configuration and the item store.
#[derive(Clone)]
pub struct AppState {
    /// Keys, verifiers, token endpoint.
    pub security: Security,
    /// The items.
    pub items: ItemStore,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

impl FromRef<AppState> for ItemStore {
    fn from_ref(state: &AppState) -> Self {
        state.items.clone()
    }
}

/// The algorithms accepted from `SECURE_API_JWKS_URL`'s keys.
pub const JWKS_ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Builds the security state from the configuration. Without a provider key set: a
/// configuration with `jwks_url` needs [`load`], which fetches it.
pub fn security(config: &Config) -> Result<Security, ConfigError> {
    if config.jwks_url.is_some() {
        return Err(ConfigError::new("SECURE_API_JWKS_URL is set: build the app with `quickstart::load`"));
    }
    security_with(config, None)
}

fn security_with(config: &Config, jwks: Option<JwksKeys>) -> Result<Security, ConfigError> {
    let secret = config.jwt_secret.expose().as_bytes();
    let mut verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(secret)?)
        .issuer(config.issuer.clone())
        .audience(config.audience.clone());
    // The verified-token cache is safe only while keys never change: with a provider's key set a
    // removed key must stop opening the API at once, so the cache stays off then.
    let token_cache = jwks.is_none().then(TokenCache::default);
    if let Some(jwks) = jwks {
        verifier = verifier.jwks(jwks);
    }
    let verifier = verifier.build()?;
    let endpoint = TokenEndpoint::hs256(secret, config.issuer.clone(), config.audience.clone())?
        .client(OAuthClient::new(config.client_id.clone(), config.client_secret.expose(), CLIENT_SCOPES)?);
    let api_keys = ApiKeys::new().with_key(config.api_key.expose(), "reports-client", ["reports:read"])?;
    let penalty_box = config.penalty.penalty_box()?;
    let (rate_limits, penalty_box) = match &config.redis_url {
        Some(url) => {
            let store = RedisStore::open(url.expose())?.namespace("secure-api-quickstart");
            // One store, one connection: every instance sees the limits and the bans.
            (RateLimits::redis(store.clone()), penalty_box.redis(store))
        }
        None => (RateLimits::in_memory(), penalty_box),
    };
    let builder = Security::builder()
        .realm(config.audience.clone())
        .jwt(verifier)
        .api_keys(api_keys)
        .trusted_proxies(config.trusted_proxies.clone())
        .token_endpoint(endpoint)
        .ip_rules(config.ip_rules.clone())
        // Threat detection on every route (so on all of /api): path, query, selected headers.
        .threat_detection(ThreatDetector::new(config.threat_mode)?)
        .audit(audit_config(config)?)
        .rate_limits(rate_limits);
    let builder = match &config.dpop_nonce {
        Some(nonce) => builder.dpop(nonce.verifier()),
        None => builder,
    };
    // All thresholds 0: no penalty box, so requests skip its per-request check.
    let builder = if config.penalty.is_on() { builder.penalty_box(penalty_box) } else { builder };
    // RFC 9728 metadata from the same recorded routes the guards enforce.
    let builder = match &config.resource_url {
        Some(url) => builder.resource_metadata(
            oauth::ResourceMetadata::new(url.clone())?
                .authorization_server(config.issuer.clone())
                .resource_name("secure-api quickstart")
                .routes(routes().routes()),
        ),
        None => builder,
    };
    // Safe without a provider key set: the HS256 key never changes while the app runs and nothing
    // revokes tokens, so a cached decision is the fresh one (exp/nbf are re-checked on every hit).
    Ok(match token_cache {
        Some(cache) => builder.token_cache(cache),
        None => builder,
    }
    .build())
}

/// The audit line shows whether credentials were sent (always as `[redacted]`), the user agent,
/// and the query with secret parameters redacted; with `SECURE_API_AUDIT_FILE` it goes to that
/// file as JSON instead of standard output.
fn audit_config(config: &Config) -> Result<AuditConfig, ConfigError> {
    let audit = AuditConfig::new()
        .log_header("user-agent")
        .log_header("authorization")
        .log_header("cookie")
        .log_header("x-api-key")
        .log_query();
    Ok(match &config.audit_file {
        Some(path) => audit.log_to(AuditLog::to_file(path).map_err(|error| {
            ConfigError::new(format!("SECURE_API_AUDIT_FILE: cannot open {}: {error}", path.display()))
        })?),
        None => audit,
    })
}

/// Every route of the quickstart, with its recorded policies (before the state is supplied).
pub fn routes() -> SecureRouter<AppState> {
    SecureRouter::new()
        .route("/health", get(handlers::health))
        .route("/oauth/token", post(oauth::token_handler))
        .route("/api/items", get(handlers::list_items).post(handlers::create_item))
        .route("/api/items/{id}", get(handlers::get_item))
        .route("/api/reports", get(handlers::reports))
        .route("/api/account", get(handlers::account))
        .route(oauth::resource_metadata::WELL_KNOWN_PATH, get(oauth::metadata_handler))
}

/// The quickstart's OpenAPI 3.1 document, generated from the same recorded policies the guards
/// enforce (`quickstart --openapi` prints it).
pub fn openapi() -> serde_json::Value {
    secure_api::openapi::document("secure-api quickstart", env!("CARGO_PKG_VERSION"), routes().routes())
}

/// The whole app, ready to serve (no provider key set; see [`load`]).
pub fn app(config: &Config) -> Result<SecureApp, ConfigError> {
    let state = AppState { security: security(config)?, items: ItemStore::default() };
    Ok(routes().with_state(state))
}

/// The whole app, fetching `SECURE_API_JWKS_URL`'s keys first when it is set: start-up fails
/// with a clear error when the key set cannot be fetched or holds no usable key. The keys are
/// then refreshed in the background and when a token names an unknown key (at most once per
/// 10 s).
pub async fn load(config: &Config) -> Result<SecureApp, ConfigError> {
    let jwks = match &config.jwks_url {
        Some(url) => Some(JwksKeys::builder(url.clone()).algorithms(JWKS_ALGORITHMS).build().await?),
        None => None,
    };
    let state = AppState { security: security_with(config, jwks)?, items: ItemStore::default() };
    Ok(routes().with_state(state))
}
