//! Who a request is counted against: the rate key.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::auth::AuthScheme;
use crate::principal::Principal;

/// Longest principal id kept as is in a key; longer ids are replaced by a digest, so neither
/// memory nor Redis key length depends on what a token issuer puts in `sub`.
const MAX_PLAIN_ID: usize = 64;

/// What a route's requests are counted against: `key = "..."` in the attribute.
///
/// | `key` | counted against |
/// |---|---|
/// | (absent) | the authenticated principal on `auth` routes; the client IP on `#[public]` routes |
/// | `"ip"` | the client IP (IPv6 by its /64 by default, see [`ClientIdentity::rate_network`](crate::client::ClientIdentity::rate_network)) |
/// | `"principal"` | the authenticated principal's id |
/// | `"api_key"` | the API key the caller presented (a digest of it; the key itself is never stored) |
/// | `"header:NAME"` | the value of header `NAME` (a digest of it); the client IP when the header is absent |
/// | `"claim:NAME"` | the top-level string claim `NAME` of the verified token (a digest of it), e.g. a tenant id, so every caller of one tenant shares one quota; the principal when the claim is absent, empty or not a string (API keys carry no claims) |
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
    /// A top-level string claim of the verified token, falling back to the principal when
    /// the token has no such claim.
    Claim(&'static str),
}

impl fmt::Display for RateKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Ip => f.write_str("ip"),
            Self::Principal => f.write_str("principal"),
            Self::ApiKey => f.write_str("api_key"),
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Claim(name) => write!(f, "claim:{name}"),
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
    // Shared with the `Principal`: keying a request by its principal copies nothing.
    Principal(Arc<str>),
    PrincipalDigest([u8; 16]),
    ApiKey([u8; 16]),
    Header([u8; 16]),
    Claim([u8; 16]),
}

impl RateKey {
    /// The key of a client network (already masked, see
    /// [`ClientIdentity::rate_network`](crate::client::ClientIdentity::rate_network)).
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

    /// [`principal`](Self::principal) for an id the caller already shares.
    pub(crate) fn shared_principal(id: &Arc<str>) -> Self {
        if id.len() <= MAX_PLAIN_ID {
            Self(Repr::Principal(Arc::clone(id)))
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

    /// The key of a token claim's value (stored as a digest): one quota per tenant.
    pub fn claim(value: &str) -> Self {
        Self(Repr::Claim(digest(value.as_bytes())))
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
            Repr::PrincipalDigest(bytes) => ("pd:", bytes),
            Repr::ApiKey(bytes) => ("k:", bytes),
            Repr::Header(bytes) => ("h:", bytes),
            Repr::Claim(bytes) => ("c:", bytes),
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

/// A [`RateKey`] as the in-memory store keeps it: 16 bytes, alignment 1, so a map entry with
/// its 8-byte arrival time is 24 bytes (a `RateKey` is 24 bytes alone and principals add a heap
/// string). Byte 0 is a tag naming the kind, bytes 1..16 the value:
///
/// | tag | kind | bytes 1..16 |
/// |---|---|---|
/// | 0 | the shared bucket of new keys once a route's map is full | zero |
/// | 1 | IPv4 address | the 4 address bytes, then zero |
/// | 2 | IPv6 network whose low 64 bits are zero (a /64 or shorter) | the 8 prefix bytes, then zero |
/// | 3 | any other IPv6 address | 120 bits of SHA-256 of its 16 bytes |
/// | 4 | principal id longer than 15 bytes | 120 bits of SHA-256 of the id |
/// | 5 | API key | 120 bits of SHA-256 of the key |
/// | 6 | header value | 120 bits of SHA-256 of the value |
/// | 7 | token claim value | 120 bits of SHA-256 of the value |
/// | 16 + n | principal id of n ≤ 15 bytes | the id, then zero |
///
/// The tag keeps the kinds apart (an IP, a principal named like it and a header with that value
/// never share a bucket); within a kind the value is the input itself or 120 bits of SHA-256,
/// collision-free in practice even against chosen inputs (header values come from clients).
/// The length in the principal tag keeps `"a"` and `"a\0"` apart despite the zero padding.
/// Short principal ids, the common case, are kept as they are so their checks hash nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompactKey([u8; 16]);

/// Tags of [`CompactKey`]. A value once given to a kind must never name another.
mod tag {
    pub(super) const OVERFLOW: u8 = 0;
    pub(super) const IPV4: u8 = 1;
    pub(super) const IPV6_NETWORK: u8 = 2;
    pub(super) const IPV6_DIGEST: u8 = 3;
    pub(super) const PRINCIPAL_DIGEST: u8 = 4;
    pub(super) const API_KEY: u8 = 5;
    pub(super) const HEADER: u8 = 6;
    pub(super) const CLAIM: u8 = 7;
    /// Plus the id's length, 0 to [`super::INLINE_PRINCIPAL`].
    pub(super) const PRINCIPAL_INLINE: u8 = 16;
}

/// Longest principal id a [`CompactKey`] holds as is: everything after the tag byte.
const INLINE_PRINCIPAL: usize = 15;

impl CompactKey {
    /// The overflow bucket's key.
    pub(crate) const OVERFLOW: Self = Self([tag::OVERFLOW; 16]);

    /// `tag` followed by `value`, zero-padded; `value` longer than 15 bytes is cut (callers
    /// pass at most 15 bytes, or a digest of which 15 bytes are kept).
    fn new(tag: u8, value: &[u8]) -> Self {
        let mut bytes = [0; 16];
        let [first, rest @ ..] = &mut bytes;
        *first = tag;
        let len = value.len().min(rest.len());
        // One copy rather than a loop per byte; both ranges exist by the `min` above.
        if let (Some(to), Some(from)) = (rest.get_mut(..len), value.get(..len)) {
            to.copy_from_slice(from);
        }
        Self(bytes)
    }
}

impl std::hash::Hash for CompactKey {
    /// One 16-byte write: the derived impl would also hash the array's length, for nothing.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

impl RateKey {
    /// This key in the in-memory store's 16-byte form (see [`CompactKey`]). Costs one SHA-256
    /// only for principal ids of 16 to 64 bytes and for IPv6 addresses with host bits set;
    /// the other kinds carry their value or digest already.
    pub(crate) fn compact(&self) -> CompactKey {
        match &self.0 {
            Repr::Ip(IpAddr::V4(v4)) => CompactKey::new(tag::IPV4, &v4.octets()),
            Repr::Ip(IpAddr::V6(v6)) => {
                let octets = v6.octets();
                match octets.split_first_chunk::<8>() {
                    Some((network, [0, 0, 0, 0, 0, 0, 0, 0])) => CompactKey::new(tag::IPV6_NETWORK, network),
                    _ => CompactKey::new(tag::IPV6_DIGEST, &digest(&octets)),
                }
            }
            Repr::Principal(id) if id.len() <= INLINE_PRINCIPAL => {
                // The length is at most 15, so the tag stays below 32.
                let tag = tag::PRINCIPAL_INLINE + u8::try_from(id.len()).unwrap_or(0);
                CompactKey::new(tag, id.as_bytes())
            }
            // The same digest `RateKey::principal` keeps for ids over 64 bytes, so an id maps to
            // one compact key whichever way the `RateKey` holds it.
            Repr::Principal(id) => CompactKey::new(tag::PRINCIPAL_DIGEST, &digest(id.as_bytes())),
            Repr::PrincipalDigest(bytes) => CompactKey::new(tag::PRINCIPAL_DIGEST, bytes),
            Repr::ApiKey(bytes) => CompactKey::new(tag::API_KEY, bytes),
            Repr::Header(bytes) => CompactKey::new(tag::HEADER, bytes),
            Repr::Claim(bytes) => CompactKey::new(tag::CLAIM, bytes),
        }
    }
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
        let principal_key = |principal: &Principal| RateKey::shared_principal(principal.shared_id());
        match self {
            Self::Ip => inputs.client.clone(),
            Self::Default | Self::Principal => inputs.principal.map_or_else(|| inputs.client.clone(), principal_key),
            Self::ApiKey => match inputs.principal {
                Some(principal) if principal.method() == AuthScheme::ApiKey => inputs
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
            Self::Claim(name) => match inputs.principal {
                Some(principal) => match principal.claims().get(name).and_then(serde_json::Value::as_str) {
                    Some(value) if !value.is_empty() => RateKey::claim(value),
                    _ => principal_key(principal),
                },
                None => inputs.client.clone(),
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
        let alice = Principal::new("alice", ["a"], AuthScheme::Bearer);
        assert_eq!(RateKeyKind::Default.resolve(&inputs(Some(&alice), &headers, &name)), RateKey::principal("alice"));
        assert!(RateKeyKind::Default.resolve(&inputs(None, &headers, &name)).is_ip());
        assert!(RateKeyKind::Ip.resolve(&inputs(Some(&alice), &headers, &name)).is_ip());
    }

    #[test]
    fn api_key_is_a_digest_of_the_presented_key() {
        let name = http::HeaderName::from_static("x-api-key");
        let mut headers = HeaderMap::new();
        headers.insert(&name, "secret-key-value".parse().unwrap());
        let client = Principal::new("reports", ["r"], AuthScheme::ApiKey);
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
    fn claim_key_is_the_tenant_then_the_principal() {
        let name = http::HeaderName::from_static("x-api-key");
        let headers = HeaderMap::new();
        let kind = RateKeyKind::Claim("tenant_id");
        let claims = |value: serde_json::Value| {
            let mut map = serde_json::Map::new();
            map.insert("tenant_id".to_owned(), value);
            map
        };
        let alice = Principal::new("alice", ["a"], AuthScheme::Bearer).with_claims(claims("acme".into()));
        let bob = Principal::new("bob", ["a"], AuthScheme::Bearer).with_claims(claims("acme".into()));
        let key = kind.resolve(&inputs(Some(&alice), &headers, &name));
        assert_eq!(key, RateKey::claim("acme"));
        assert_eq!(key, kind.resolve(&inputs(Some(&bob), &headers, &name)), "one tenant, one bucket");
        assert_ne!(key, RateKey::principal("acme"));
        // Missing, empty or non-string claims: the principal.
        let carol = Principal::new("carol", ["a"], AuthScheme::Bearer);
        assert_eq!(kind.resolve(&inputs(Some(&carol), &headers, &name)), RateKey::principal("carol"));
        let dave = Principal::new("dave", ["a"], AuthScheme::Bearer).with_claims(claims(serde_json::json!(["acme"])));
        assert_eq!(kind.resolve(&inputs(Some(&dave), &headers, &name)), RateKey::principal("dave"));
        let erin = Principal::new("erin", ["a"], AuthScheme::Bearer).with_claims(claims("".into()));
        assert_eq!(kind.resolve(&inputs(Some(&erin), &headers, &name)), RateKey::principal("erin"));
        assert!(kind.resolve(&inputs(None, &headers, &name)).is_ip());
        assert_eq!(kind.to_string(), "claim:tenant_id");
    }

    #[test]
    fn long_principals_are_digested() {
        let long = "x".repeat(200);
        let key = RateKey::principal(&long);
        assert!(key.to_string().starts_with("pd:") && key.to_string().len() == 3 + 32);
        assert_eq!(RateKey::principal("bob").to_string(), "p:bob");
    }

    fn ip(text: &str) -> RateKey {
        RateKey::ip(text.parse().unwrap())
    }

    #[test]
    fn compact_keys_of_different_kinds_never_collide() {
        // The same text or bytes as every kind, plus values that look like another kind's encoding.
        let keys = [
            ip("192.0.2.1"),
            ip("::c000:201"),
            ip("::ffff:192.0.2.1"),
            ip("c000:201::"),
            RateKey::principal("192.0.2.1"),
            ip("97.98.99.100"),
            RateKey::principal("abcd"),
            RateKey::principal(""),
            RateKey::principal("\u{0}"),
            RateKey::api_key(b"192.0.2.1"),
            RateKey::header(b"192.0.2.1"),
            RateKey::principal(&"192.0.2.1".repeat(3)),
            RateKey::api_key("192.0.2.1".repeat(3).as_bytes()),
            RateKey::header("192.0.2.1".repeat(3).as_bytes()),
            RateKey::claim("192.0.2.1"),
            ip("2001:db8::"),
            ip("2001:db8::1"),
        ];
        let mut compact: Vec<CompactKey> = keys.iter().map(RateKey::compact).collect();
        compact.push(CompactKey::OVERFLOW);
        for (i, a) in compact.iter().enumerate() {
            for (j, b) in compact.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{:?} and {:?}", keys.get(i), keys.get(j));
            }
        }
    }

    #[test]
    fn ipv6_networks_are_kept_and_full_addresses_digested() {
        let network = ip("2001:db8:1:2::").compact();
        assert_eq!(network.0, [2, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_ne!(network, ip("2001:db8:1:3::").compact(), "neighbouring /64s");
        // An unmasked address (a prefix longer than /64 was configured) is not its /64 ...
        let host = ip("2001:db8:1:2::1").compact();
        assert_ne!(host, network);
        assert_eq!(host.0.first(), Some(&3));
        // ... nor another host of it, even one differing only in the last bit.
        assert_ne!(host, ip("2001:db8:1:2::").compact());
        assert_ne!(host, ip("2001:db8:1:2::3").compact());
        assert_eq!(host, ip("2001:db8:1:2::1").compact());
        assert_eq!(ip("192.0.2.1").compact().0, [1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn principal_ids_inline_up_to_15_bytes_then_digested() {
        let short = RateKey::principal("alice").compact();
        assert_eq!(short.0, [16 + 5, b'a', b'l', b'i', b'c', b'e', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        // Zero padding does not merge ids that differ by trailing NULs.
        assert_ne!(RateKey::principal("a").compact(), RateKey::principal("a\u{0}").compact());
        let fifteen = "p".repeat(15);
        assert_eq!(RateKey::principal(&fifteen).compact().0.first(), Some(&(16 + 15)));
        // From 16 bytes on: a digest, so ids sharing their first 15 bytes stay apart.
        let sixteen_a = RateKey::principal(&format!("{fifteen}a")).compact();
        let sixteen_b = RateKey::principal(&format!("{fifteen}b")).compact();
        assert_eq!(sixteen_a.0.first(), Some(&4));
        assert_ne!(sixteen_a, sixteen_b);
        // Ids of 64 bytes (kept as text by `RateKey`) and of 65 (kept as a digest) use one encoding.
        for len in [64, 65, 1_000] {
            let id = "q".repeat(len);
            let expected = Sha256::digest(id.as_bytes());
            let compact = RateKey::principal(&id).compact();
            assert_eq!(compact.0.first(), Some(&4));
            assert_eq!(compact.0.get(1..), expected.get(..15), "{len} bytes");
        }
        assert_ne!(RateKey::principal(&"q".repeat(65)).compact(), RateKey::principal(&"q".repeat(66)).compact());
    }

    #[test]
    fn a_store_entry_is_24_bytes() {
        // The point of the compact key: 16 bytes of key, align 1, next to the 8-byte arrival time.
        assert_eq!(size_of::<(CompactKey, std::sync::atomic::AtomicU64)>(), 24);
    }
}
