//! Who a request is counted against: the rate key.

use std::fmt;
use std::net::IpAddr;

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::principal::{AuthMethod, Principal};

/// Longest principal id kept as is in a key; longer ids are replaced by a digest, so neither
/// memory nor Redis key length depends on what a token issuer puts in `sub`.
const MAX_PLAIN_ID: usize = 64;

/// What a route's requests are counted against: `key = "..."` in the attribute.
///
/// | `key` | counted against |
/// |---|---|
/// | (absent) | the authenticated principal on `auth` routes; the client IP on `#[public]` routes |
/// | `"ip"` | the client IP (IPv6 by its /64 by default, see [`ClientIdentity::rate_network`](crate::ClientIdentity::rate_network)) |
/// | `"principal"` | the authenticated principal's id |
/// | `"api_key"` | the API key the caller presented (a digest of it; the key itself is never stored) |
/// | `"header:NAME"` | the value of header `NAME` (a digest of it); the client IP when the header is absent |
///
/// Whatever the kind, a request that fails authentication is counted against its client IP
/// on that route, so guessing credentials is as slow as the route's rate.
///
/// # Examples
/// ```
/// use secure_api::rate::RateKeyKind;
///
/// assert_eq!(RateKeyKind::Header("x-tenant").to_string(), "header:x-tenant");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RateKeyKind {
    /// Principal after authentication, client IP on public routes.
    #[default]
    Default,
    /// The client IP.
    Ip,
    /// The authenticated principal.
    Principal,
    /// The presented API key.
    ApiKey,
    /// A request header (lower-case name), falling back to the client IP when absent.
    Header(&'static str),
}

impl fmt::Display for RateKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Ip => f.write_str("ip"),
            Self::Principal => f.write_str("principal"),
            Self::ApiKey => f.write_str("api_key"),
            Self::Header(name) => write!(f, "header:{name}"),
        }
    }
}

/// One resolved key: the bucket a request is counted in, within one route's limiter.
///
/// The kinds never collide: an IP, a principal named like an IP, and a header value are three
/// different keys. Secrets (API keys, header values) are kept only as truncated SHA-256 digests.
///
/// # Examples
/// ```
/// use secure_api::rate::RateKey;
///
/// let key = RateKey::ip("2001:db8::".parse().unwrap());
/// assert_eq!(key.to_string(), "ip:2001:db8::");
/// assert_ne!(RateKey::principal("alice"), RateKey::header(b"alice"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RateKey(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    Ip(IpAddr),
    Principal(Box<str>),
    PrincipalDigest([u8; 16]),
    ApiKey([u8; 16]),
    Header([u8; 16]),
    /// The shared bucket for new keys once a route's in-memory store is full.
    Overflow,
}

impl RateKey {
    /// The key of a client network (already masked, see
    /// [`ClientIdentity::rate_network`](crate::ClientIdentity::rate_network)).
    pub fn ip(network: IpAddr) -> Self {
        Self(Repr::Ip(network))
    }

    /// The key of a principal id; ids longer than 64 bytes are kept as a digest.
    pub fn principal(id: &str) -> Self {
        if id.len() <= MAX_PLAIN_ID {
            Self(Repr::Principal(id.into()))
        } else {
            Self(Repr::PrincipalDigest(digest(id.as_bytes())))
        }
    }

    /// The key of a presented API key (stored as a digest).
    pub fn api_key(key: &[u8]) -> Self {
        Self(Repr::ApiKey(digest(key)))
    }

    /// The key of a header value (stored as a digest).
    pub fn header(value: &[u8]) -> Self {
        Self(Repr::Header(digest(value)))
    }

    pub(crate) const fn overflow() -> Self {
        Self(Repr::Overflow)
    }

    /// Whether this is a client-IP key.
    pub fn is_ip(&self) -> bool {
        matches!(self.0, Repr::Ip(_))
    }
}

impl fmt::Display for RateKey {
    /// The text used in Redis key names: `ip:…`, `p:…`, `k:<hex>`, `h:<hex>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, bytes) = match &self.0 {
            Repr::Ip(ip) => return write!(f, "ip:{ip}"),
            Repr::Principal(id) => return write!(f, "p:{id}"),
            Repr::Overflow => return f.write_str("overflow"),
            Repr::PrincipalDigest(bytes) => ("pd:", bytes),
            Repr::ApiKey(bytes) => ("k:", bytes),
            Repr::Header(bytes) => ("h:", bytes),
        };
        f.write_str(prefix)?;
        bytes.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The first 128 bits of SHA-256: collision-free in practice, half the memory of the full digest.
fn digest(bytes: &[u8]) -> [u8; 16] {
    let full = Sha256::digest(bytes);
    full.as_slice().first_chunk::<16>().copied().unwrap_or_default()
}

/// Everything key resolution may look at, gathered by the guard.
pub(crate) struct KeyInputs<'a> {
    pub(crate) client: RateKey,
    pub(crate) principal: Option<&'a Principal>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) api_key_header: &'a http::HeaderName,
}

impl RateKeyKind {
    /// The key for one request. Kinds that need something the request lacks (no principal, no
    /// header) fall back to the client IP: a request is always counted somewhere.
    pub(crate) fn resolve(self, inputs: &KeyInputs<'_>) -> RateKey {
        let principal_key = |principal: &Principal| RateKey::principal(principal.id());
        match self {
            Self::Ip => inputs.client.clone(),
            Self::Default | Self::Principal => inputs.principal.map_or_else(|| inputs.client.clone(), principal_key),
            Self::ApiKey => match inputs.principal {
                Some(principal) if principal.method() == AuthMethod::ApiKey => inputs
                    .headers
                    .get(inputs.api_key_header)
                    .map_or_else(|| principal_key(principal), |value| RateKey::api_key(value.as_bytes().trim_ascii())),
                Some(principal) => principal_key(principal),
                None => inputs.client.clone(),
            },
            Self::Header(name) => match inputs.headers.get(name) {
                Some(value) if !value.is_empty() => RateKey::header(value.as_bytes()),
                _ => inputs.client.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(
        principal: Option<&'a Principal>,
        headers: &'a HeaderMap,
        name: &'a http::HeaderName,
    ) -> KeyInputs<'a> {
        KeyInputs { client: RateKey::ip("192.0.2.1".parse().unwrap()), principal, headers, api_key_header: name }
    }

    #[test]
    fn default_is_principal_then_ip() {
        let name = http::HeaderName::from_static("x-api-key");
        let headers = HeaderMap::new();
        let alice = Principal::new("alice", ["a"], AuthMethod::Bearer);
        assert_eq!(RateKeyKind::Default.resolve(&inputs(Some(&alice), &headers, &name)), RateKey::principal("alice"));
        assert!(RateKeyKind::Default.resolve(&inputs(None, &headers, &name)).is_ip());
        assert!(RateKeyKind::Ip.resolve(&inputs(Some(&alice), &headers, &name)).is_ip());
    }

    #[test]
    fn api_key_is_a_digest_of_the_presented_key() {
        let name = http::HeaderName::from_static("x-api-key");
        let mut headers = HeaderMap::new();
        headers.insert(&name, "secret-key-value".parse().unwrap());
        let client = Principal::new("reports", ["r"], AuthMethod::ApiKey);
        let key = RateKeyKind::ApiKey.resolve(&inputs(Some(&client), &headers, &name));
        assert_eq!(key, RateKey::api_key(b"secret-key-value"));
        assert!(!key.to_string().contains("secret"), "{key}");
    }

    #[test]
    fn header_key_falls_back_to_ip() {
        let name = http::HeaderName::from_static("x-api-key");
        let mut headers = HeaderMap::new();
        let kind = RateKeyKind::Header("x-tenant");
        assert!(kind.resolve(&inputs(None, &headers, &name)).is_ip());
        headers.insert("x-tenant", "acme".parse().unwrap());
        assert_eq!(kind.resolve(&inputs(None, &headers, &name)), RateKey::header(b"acme"));
    }

    #[test]
    fn long_principals_are_digested() {
        let long = "x".repeat(200);
        let key = RateKey::principal(&long);
        assert!(key.to_string().starts_with("pd:") && key.to_string().len() == 3 + 32);
        assert_eq!(RateKey::principal("bob").to_string(), "p:bob");
    }
}
