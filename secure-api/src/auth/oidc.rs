//! [`discover`]: OpenID Connect discovery (documented on the item, where `secure_api::auth` shows it).

use std::time::Duration;

use serde::Deserialize;

use crate::auth::fetch;
use crate::auth::jwks::{JwksBuilder, JwksKeys};
use crate::config::ConfigError;

/// What discovery tells us about a provider.
///
/// # Examples
/// ```no_run
/// use secure_api::auth::{discover, Algorithm, JwtVerifier};
///
/// # async fn run() -> Result<(), secure_api::ConfigError> {
/// let provider = discover("https://idp.example/realms/main").await?;
/// let keys = provider.jwks().algorithms([Algorithm::RS256]).build().await?;
/// let verifier = JwtVerifier::builder()
///     .jwks(keys)
///     .issuer(provider.issuer.clone())
///     .audience("items-api")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier, equal to the configured one.
    pub issuer: String,
    /// Where the provider publishes its signing keys.
    pub jwks_uri: String,
    /// The RFC 7662 introspection endpoint, when advertised.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
}

impl ProviderMetadata {
    /// A [`JwksKeys`] builder for this provider's key set.
    pub fn jwks(&self) -> JwksBuilder {
        JwksKeys::builder(self.jwks_uri.clone())
    }
}

/// Discovery with options; [`discover`] uses the defaults.
///
/// # Examples
/// ```no_run
/// use std::time::Duration;
/// use secure_api::auth::Discovery;
///
/// # async fn run() -> Result<(), secure_api::ConfigError> {
/// let provider = Discovery::new("https://idp.example").timeout(Duration::from_secs(3)).fetch().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Discovery {
    issuer: String,
    timeout: Duration,
    allow_http: bool,
}

impl Discovery {
    /// Discovery for `issuer` (its identifier, e.g. `https://idp.example/realms/main`).
    pub fn new(issuer: impl Into<String>) -> Self {
        Self { issuer: issuer.into(), timeout: fetch::DEFAULT_TIMEOUT, allow_http: false }
    }

    /// Total time allowed for the request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Allows a plain-http issuer on a non-loopback host (development only).
    pub fn allow_http(mut self, allowed: bool) -> Self {
        self.allow_http = allowed;
        self
    }

    /// The URL of the discovery document: the issuer without a trailing `/`, then
    /// `/.well-known/openid-configuration`.
    pub fn document_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }

    /// Fetches and checks the provider's metadata.
    pub async fn fetch(self) -> Result<ProviderMetadata, ConfigError> {
        let url = fetch::provider_url("OpenID Connect issuer", &self.document_url(), self.allow_http)?;
        let client = fetch::client(self.timeout)?;
        let metadata: ProviderMetadata = fetch::get_json(&client, &url).await.map_err(|error| {
            ConfigError::new(format!("OpenID Connect discovery at {} failed: {error}", url.as_str()))
        })?;
        if metadata.issuer != self.issuer {
            return Err(ConfigError::new(format!(
                "OpenID Connect discovery: the document at {} names issuer `{}`, not the configured `{}`",
                url.as_str(),
                metadata.issuer,
                self.issuer
            )));
        }
        // The key set must meet the same transport rules as the issuer itself.
        fetch::provider_url("JWKS URL", &metadata.jwks_uri, self.allow_http)?;
        Ok(metadata)
    }
}

/// OpenID Connect discovery: configure only the issuer, learn the JWKS URL (and the
/// introspection endpoint, when the provider has one) from its
/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
///
/// The document's `issuer` must be exactly the configured issuer (§4.3): otherwise a document
/// served from the wrong place could substitute another provider's keys.
///
/// Discovers the provider at `issuer` with default options; see [`Discovery`].
pub async fn discover(issuer: impl Into<String>) -> Result<ProviderMetadata, ConfigError> {
    Discovery::new(issuer).fetch().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_url_follows_the_spec() {
        assert_eq!(
            Discovery::new("https://idp.example/realms/main/").document_url(),
            "https://idp.example/realms/main/.well-known/openid-configuration"
        );
        assert_eq!(
            Discovery::new("https://idp.example").document_url(),
            "https://idp.example/.well-known/openid-configuration"
        );
    }

    #[tokio::test]
    async fn plain_http_issuers_are_refused() {
        let error = discover("http://idp.example").await.unwrap_err();
        assert!(error.to_string().contains("https"), "{error}");
    }
}
