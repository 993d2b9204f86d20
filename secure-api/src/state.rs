//! The application's security configuration, shared with every guard through axum state.

use std::sync::Arc;

use http::HeaderName;

use crate::auth::challenge::Realm;
use crate::auth::{ApiKeys, JwtVerifier, TokenCache};
use crate::client::TrustedProxies;
use crate::headers::SecurityHeaders;
use crate::oauth::TokenEndpoint;

/// Everything the guards need: verifiers, keys, trusted proxies, headers policy, token issuer.
///
/// Put it in your axum state (directly, or as a field with `#[derive(FromRef)]`): every
/// `#[secure]` handler requires `Security: FromRef<S>` of the router's state, so an app that
/// forgot to configure security does not compile.
///
/// # Examples
/// ```
/// use secure_api::{Security, auth::{JwtVerifier, VerificationKey}};
///
/// let security = Security::builder()
///     .realm("items-api")
///     .jwt(
///         JwtVerifier::builder()
///             .key(VerificationKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap())
///             .audience("items-api")
///             .build()
///             .unwrap(),
///     )
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct Security {
    config: Arc<SecurityConfig>,
}

#[derive(Debug)]
pub(crate) struct SecurityConfig {
    pub(crate) realm: Realm,
    pub(crate) jwt: Option<JwtVerifier>,
    pub(crate) api_keys: Option<ApiKeys>,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) headers: SecurityHeaders,
    pub(crate) token_endpoint: Option<TokenEndpoint>,
    pub(crate) token_cache: Option<TokenCache>,
}

impl Security {
    /// Starts a configuration. Nothing is accepted until a verifier or keys are added.
    pub fn builder() -> SecurityBuilder {
        SecurityBuilder::default()
    }

    pub(crate) fn config(&self) -> &SecurityConfig {
        &self.config
    }

    /// The trusted proxies configured for client identity.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.config.trusted_proxies
    }
}

/// Builds a [`Security`]; see [`Security::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct SecurityBuilder {
    realm: Option<String>,
    jwt: Option<JwtVerifier>,
    api_keys: Option<ApiKeys>,
    trusted_proxies: TrustedProxies,
    headers: Option<SecurityHeaders>,
    token_endpoint: Option<TokenEndpoint>,
    token_cache: Option<TokenCache>,
}

impl SecurityBuilder {
    /// The protection space named in `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Verifies bearer JWTs for `auth = "oauth"` routes.
    pub fn jwt(mut self, verifier: JwtVerifier) -> Self {
        self.jwt = Some(verifier);
        self
    }

    /// The keys for `auth = "api_key"` routes.
    pub fn api_keys(mut self, keys: ApiKeys) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// Proxies whose `X-Forwarded-For` / `Forwarded` / `X-Forwarded-Proto` are believed.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Replaces the default security response headers.
    pub fn headers(mut self, headers: SecurityHeaders) -> Self {
        self.headers = Some(headers);
        self
    }

    /// The OAuth 2.0 token endpoint's clients and signing key; see [`crate::oauth`].
    pub fn token_endpoint(mut self, endpoint: TokenEndpoint) -> Self {
        self.token_endpoint = Some(endpoint);
        self
    }

    /// Remembers verified bearer tokens so a reused token skips signature verification; a hit
    /// decides exactly as a fresh verification would. See [`TokenCache`] (off unless set).
    pub fn token_cache(mut self, cache: TokenCache) -> Self {
        self.token_cache = Some(cache);
        self
    }

    /// Finishes the configuration.
    pub fn build(self) -> Security {
        let api_key_header = self
            .api_keys
            .as_ref()
            .map(|keys| keys.header_name().clone())
            .unwrap_or_else(|| HeaderName::from_static(crate::auth::api_key::DEFAULT_API_KEY_HEADER));
        Security {
            config: Arc::new(SecurityConfig {
                realm: Realm { name: self.realm.unwrap_or_else(|| "api".to_owned()), api_key_header },
                jwt: self.jwt,
                api_keys: self.api_keys,
                trusted_proxies: self.trusted_proxies,
                headers: self.headers.unwrap_or_default(),
                token_endpoint: self.token_endpoint,
                token_cache: self.token_cache,
            }),
        }
    }
}
