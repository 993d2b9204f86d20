//! The quickstart's app assembled on a plain `axum::Router` (no annotations, no guards).

mod config;
mod handlers;
mod items;

use axum::extract::FromRef;
use axum::routing::{get, post};
use secure_api::auth::{ApiKeys, JwtVerifier, TokenCache, VerificationKey};
use secure_api::oauth::{self, OAuthClient, TokenEndpoint};
use secure_api::{ConfigError, Security, layer::SecurityLayer};

pub use config::{Config, LogFormat};
pub use items::{Item, ItemStore};

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

/// Builds the security state from the configuration.
pub fn security(config: &Config) -> Result<Security, ConfigError> {
    let secret = config.jwt_secret.expose().as_bytes();
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(secret)?)
        .issuer(config.issuer.clone())
        .audience(config.audience.clone())
        .build()?;
    let endpoint = TokenEndpoint::hs256(secret, config.issuer.clone(), config.audience.clone())?
        .client(OAuthClient::new(config.client_id.clone(), config.client_secret.expose(), CLIENT_SCOPES)?);
    let api_keys = ApiKeys::new().with_key(config.api_key.expose(), "reports-client", ["reports:read"])?;
    Ok(Security::builder()
        .realm(config.audience.clone())
        .jwt(verifier)
        .api_keys(api_keys)
        .trusted_proxies(config.trusted_proxies.clone())
        .token_endpoint(endpoint)
        .token_cache(TokenCache::default())
        .build())
}

/// Every route of the quickstart.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/health", get(handlers::health))
        .route("/oauth/token", post(oauth::token_handler))
        .route("/api/items", get(handlers::list_items).post(handlers::create_item))
        .route("/api/items/{id}", get(handlers::get_item))
        .route("/api/reports", get(handlers::reports))
}

/// The whole app.
pub fn app(config: &Config) -> Result<axum::Router, ConfigError> {
    let security = security(config)?;
    let state = AppState { security: security.clone(), items: ItemStore::default() };
    Ok(routes().layer(SecurityLayer::new(security)).with_state(state))
}
