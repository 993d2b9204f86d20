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
    /// The lengths of the keys registered as keys, or `None` once one was registered by its
    /// digest (any length then): see [`could_be_key`](Self::could_be_key).
    key_lengths: Option<Vec<usize>>,
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
        Self {
            header: HeaderName::from_static(DEFAULT_API_KEY_HEADER),
            entries: Vec::new(),
            key_lengths: Some(Vec::new()),
        }
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
        let lengths = self.key_lengths.clone();
        let mut keys = self.with_digest(Sha256::digest(key.as_bytes()).into(), principal, scopes);
        // `with_digest` forgot the lengths; this key's is known.
        keys.key_lengths = lengths.map(|mut lengths| {
            if !lengths.contains(&key.len()) {
                lengths.push(key.len());
            }
            lengths
        });
        Ok(keys)
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
        self.key_lengths = None;
        self
    }

    /// The header keys are read from.
    pub fn header_name(&self) -> &HeaderName {
        &self.header
    }

    /// Whether `value` has the length of a registered key (any length once a key was registered
    /// by its digest): a cheap test before [`verify`](Self::verify)'s SHA-256, for the audit
    /// log's redaction of keys wherever they appear (every logged header and query value, most of
    /// which are no key). Authentication calls `verify` on every presented key whatever its
    /// length. Key lengths are not secret: the keys' entropy is in their bytes.
    ///
    /// # Examples
    /// ```
    /// use secure_api::auth::ApiKeys;
    ///
    /// let keys = ApiKeys::new().with_key("k3y-0123456789abcdef0123456789abcdef", "svc", ["a"]).unwrap();
    /// assert!(keys.could_be_key(b"k3y-0123456789abcdef0123456789abcdeF"));
    /// assert!(!keys.could_be_key(b"Mozilla/5.0"));
    /// assert!(keys.with_digest([0; 32], "other", ["a"]).could_be_key(b"Mozilla/5.0"));
    /// ```
    pub fn could_be_key(&self, value: &[u8]) -> bool {
        match &self.key_lengths {
            Some(lengths) => lengths.contains(&value.len()),
            None => !value.is_empty() && value.len() <= MAX_KEY_LEN,
        }
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
    fn only_values_of_a_registered_length_could_be_keys() {
        let long = "k".repeat(48);
        let keys = ApiKeys::new().with_key(KEY, "svc", ["a"]).unwrap().with_key(&long, "svc2", ["a"]).unwrap();
        for (value, could) in
            [(KEY, true), (long.as_str(), true), ("short", false), ("0123456789abcdef0123456789abcdef0", false)]
        {
            assert_eq!(keys.could_be_key(value.as_bytes()), could, "{value}");
        }
        // Every key of a possible length is still told apart by its digest.
        assert!(keys.verify(b"0123456789abcdef0123456789abcdeF").is_none());
        // A key known only by its digest could have any length.
        let by_digest = keys.with_digest(Sha256::digest(b"x").into(), "svc3", ["a"]);
        assert!(by_digest.could_be_key(b"x") && by_digest.verify(b"x").is_some());
        assert!(!by_digest.could_be_key(b""));
    }

    #[test]
    fn debug_shows_no_digest() {
        let keys = ApiKeys::new().with_key(KEY, "svc", ["a"]).unwrap();
        assert_eq!(format!("{keys:?}"), "ApiKeys { header: \"x-api-key\", keys: 1 }");
    }
}
