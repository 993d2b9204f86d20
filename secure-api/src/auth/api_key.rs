//! [`ApiKeys`] (documented on the item, where `secure_api::auth` shows it).

use http::HeaderName;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::AuthScheme;
use crate::config::ConfigError;
use crate::principal::Principal;

/// The default header clients send their key in.
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

/// Shortest key accepted at registration: 128 bits of hex, so keys cannot be guessed.
const MIN_KEY_LEN: usize = 32;
/// Longest key looked at; longer presented values are rejected without hashing.
const MAX_KEY_LEN: usize = 512;

#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    principal: String,
    scopes: Vec<String>,
}

/// API keys: held only as SHA-256 digests, compared in constant time, each mapped to a principal.
///
/// The registered API keys and the header they are read from (`X-API-Key` by default; never
/// the query string).
///
/// Keys are stored as SHA-256 digests: a memory dump or a `Debug` print reveals no usable key.
/// A presented key is hashed and compared with every registered digest in constant time.
///
/// # Examples
/// ```
/// use secure_api::auth::ApiKeys;
///
/// let keys = ApiKeys::new()
///     .with_key("k3y-0123456789abcdef0123456789abcdef", "reporting-service", ["reports:read"])
///     .unwrap();
/// let principal = keys.verify(b"k3y-0123456789abcdef0123456789abcdef").unwrap();
/// assert_eq!(principal.id(), "reporting-service");
/// assert!(keys.verify(b"wrong").is_none());
/// ```
#[derive(Clone)]
pub struct ApiKeys {
    header: HeaderName,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").field("header", &self.header).field("keys", &self.entries.len()).finish()
    }
}

impl Default for ApiKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiKeys {
    /// No keys yet, read from `X-API-Key`.
    pub fn new() -> Self {
        Self { header: HeaderName::from_static(DEFAULT_API_KEY_HEADER), entries: Vec::new() }
    }

    /// Reads keys from another header.
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Registers `key` for `principal` with `scopes`. Keys shorter than 32 characters are refused.
    pub fn with_key(
        self,
        key: &str,
        principal: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        if key.len() < MIN_KEY_LEN || key.len() > MAX_KEY_LEN {
            return Err(ConfigError::new(format!("API keys must be {MIN_KEY_LEN} to {MAX_KEY_LEN} characters long")));
        }
        Ok(self.with_digest(Sha256::digest(key.as_bytes()).into(), principal, scopes))
    }

    /// Registers a key by its SHA-256 digest, so the key itself never has to be in the config.
    pub fn with_digest(
        mut self,
        digest: [u8; 32],
        principal: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.entries.push(Entry {
            digest,
            principal: principal.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The header keys are read from.
    pub fn header_name(&self) -> &HeaderName {
        &self.header
    }

    /// The principal owning `presented`, if it is a registered key.
    pub fn verify(&self, presented: &[u8]) -> Option<Principal> {
        if presented.is_empty() || presented.len() > MAX_KEY_LEN {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(presented).into();
        // Compare against every entry without stopping early, so timing does not reveal which
        // (or whether an) entry matched.
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(entry);
            }
        }
        found.map(|entry| Principal::new(entry.principal.clone(), entry.scopes.clone(), AuthScheme::ApiKey))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_keys_are_refused() {
        assert!(ApiKeys::new().with_key("short", "p", ["s"]).is_err());
    }

    #[test]
    fn verifies_by_digest() {
        let keys = ApiKeys::new().with_key(KEY, "svc", ["a"]).unwrap();
        let principal = keys.verify(KEY.as_bytes()).unwrap();
        assert_eq!(principal.id(), "svc");
        assert_eq!(principal.method(), AuthScheme::ApiKey);
        assert!(keys.verify(b"0123456789abcdef0123456789abcdeF").is_none());
        assert!(keys.verify(b"").is_none());
    }

    #[test]
    fn debug_shows_no_digest() {
        let keys = ApiKeys::new().with_key(KEY, "svc", ["a"]).unwrap();
        assert_eq!(format!("{keys:?}"), "ApiKeys { header: \"x-api-key\", keys: 1 }");
    }
}
