//! Who is on the other end: the client's IP address and whether the request came over HTTPS.
//!
//! This is the one place that reads forwarding headers. Those headers are written by whoever
//! sends the request, so they are believed only when the TCP peer is a configured trusted proxy,
//! and then only the ONE header the operator says that proxy writes for the address
//! ([`ClientIpHeader`]: `X-Forwarded-For` by default, `Forwarded` or `X-Real-IP`) and the ONE it
//! writes for the scheme ([`ProtoHeader`]: `X-Forwarded-Proto` by default, or `Forwarded`'s
//! `proto=`). A proxy passes headers it does not write through unchanged, so reading any other
//! one would let the client choose its own address (RFC 7239 §8.1). The address chain is walked
//! right to left past trusted hops: the first untrusted address is the client. By default no
//! proxy is trusted and the peer address is the client. Logs, rate limits, IP rules and HSTS all
//! use the answer computed here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use crate::config::ConfigError;

/// The one header a trusted proxy writes the client's address in; no other is read.
///
/// # Examples
/// ```
/// use secure_api::client::ClientIpHeader;
///
/// assert_eq!(ClientIpHeader::default(), ClientIpHeader::XForwardedFor);
/// assert_eq!("Forwarded".parse::<ClientIpHeader>().unwrap(), ClientIpHeader::Forwarded);
/// assert_eq!("x-real-ip".parse::<ClientIpHeader>().unwrap().to_string(), "x-real-ip");
/// assert!("x-client-ip".parse::<ClientIpHeader>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx `$proxy_add_x_forwarded_for`, most load
    /// balancers): walked right to left past trusted hops.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`: its `for=` parameters, walked right to
    /// left past trusted hops. An element without a usable `for=` ends the walk.
    Forwarded,
    /// `X-Real-IP: client` (nginx `proxy_set_header X-Real-IP $remote_addr`): one address, set
    /// by the proxy. Missing, repeated or unparseable, the peer (the proxy) is the client.
    XRealIp,
}

impl ClientIpHeader {
    /// The header's name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
            Self::XRealIp => "x-real-ip",
        }
    }
}

impl fmt::Display for ClientIpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClientIpHeader {
    type Err = ConfigError;

    /// `x-forwarded-for`, `forwarded` or `x-real-ip`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            "x-real-ip" => Ok(Self::XRealIp),
            _ => Err(ConfigError::new(format!(
                "`{name}` is not a client address header; use `x-forwarded-for`, `forwarded` or `x-real-ip`"
            ))),
        }
    }
}

/// The one header a trusted proxy writes the request's scheme in; no other is read.
///
/// # Examples
/// ```
/// use secure_api::client::ProtoHeader;
///
/// assert_eq!(ProtoHeader::default(), ProtoHeader::XForwardedProto);
/// assert_eq!("forwarded".parse::<ProtoHeader>().unwrap(), ProtoHeader::Forwarded);
/// assert_eq!("none".parse::<ProtoHeader>().unwrap(), ProtoHeader::None);
/// assert!("x-forwarded-scheme".parse::<ProtoHeader>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProtoHeader {
    /// `X-Forwarded-Proto: https` (nginx `$scheme`); the last value counts.
    #[default]
    XForwardedProto,
    /// RFC 7239 `Forwarded: ...;proto=https`; the `proto=` of the last element (the one the
    /// trusted proxy wrote) counts.
    Forwarded,
    /// The proxy writes no scheme header (it would pass a client's through): no header is read,
    /// and only a direct TLS connection counts as HTTPS.
    None,
}

impl ProtoHeader {
    /// The header's name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XForwardedProto => "x-forwarded-proto",
            Self::Forwarded => "forwarded",
            Self::None => "none",
        }
    }
}

impl fmt::Display for ProtoHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtoHeader {
    type Err = ConfigError;

    /// `x-forwarded-proto`, `forwarded` or `none`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-proto" => Ok(Self::XForwardedProto),
            "forwarded" => Ok(Self::Forwarded),
            "none" => Ok(Self::None),
            _ => Err(ConfigError::new(format!(
                "`{name}` is not a scheme header; use `x-forwarded-proto`, `forwarded` or `none`"
            ))),
        }
    }
}

/// The proxies whose forwarding headers are believed, as CIDR blocks, and which headers those
/// proxies write.
///
/// Only the [`ClientIpHeader`] and the [`ProtoHeader`] named here are read (by default
/// `X-Forwarded-For` and `X-Forwarded-Proto`, what nginx's usual configuration writes), and only
/// from a trusted peer. Configure the header your proxy actually *overwrites or appends to*:
/// a header it passes through untouched is the client's to choose.
///
/// # Examples
/// ```
/// use secure_api::{client::ClientIpHeader, client::ProtoHeader, client::TrustedProxies};
///
/// let proxies = TrustedProxies::parse("10.0.0.0/8, ::1/128").unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
/// assert_eq!(proxies.client_ip_header(), ClientIpHeader::XForwardedFor);
///
/// // A proxy that writes RFC 7239 `Forwarded` for both, and whose request ids are kept.
/// let rfc7239 = TrustedProxies::parse("10.0.0.0/8")
///     .unwrap()
///     .with_client_ip_header(ClientIpHeader::Forwarded)
///     .with_proto_header(ProtoHeader::Forwarded)
///     .with_trusted_request_id(true);
/// assert!(rfc7239.trusts_request_id());
/// ```
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    client_ip_header: ClientIpHeader,
    proto_header: ProtoHeader,
    request_id: bool,
    client_cert_header: Option<ClientCertHeader>,
}

/// The one header a TLS-terminating trusted proxy writes the client's verified certificate in,
/// for certificate-bound tokens (RFC 8705) behind it.
///
/// Read only from a trusted proxy. On a request from one, the certificate of the proxy's own
/// connection (if any) is ignored: only the header counts, and a missing or malformed header
/// means no client certificate (certificate-bound tokens are then refused).
///
/// # Examples
/// ```
/// use secure_api::client::{ClientCertHeader, TrustedProxies};
///
/// let proxies = TrustedProxies::parse("10.0.0.1").unwrap().with_client_cert_header(ClientCertHeader::ClientCert);
/// assert_eq!(proxies.client_cert_header(), Some(&ClientCertHeader::ClientCert));
/// let nginx = ClientCertHeader::NginxEscapedPem(http::HeaderName::from_static("x-ssl-client-cert"));
/// assert_eq!(nginx.header_name().as_str(), "x-ssl-client-cert");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCertHeader {
    /// RFC 9440 `Client-Cert`: the DER certificate as a structured-field byte sequence
    /// (`:<base64>:`).
    ClientCert,
    /// nginx's `$ssl_client_escaped_cert` (the URL-escaped PEM certificate) in the named header
    /// (e.g. `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`).
    NginxEscapedPem(HeaderName),
}

impl ClientCertHeader {
    /// The header read.
    pub fn header_name(&self) -> HeaderName {
        match self {
            Self::ClientCert => HeaderName::from_static("client-cert"),
            Self::NginxEscapedPem(name) => name.clone(),
        }
    }
}

impl TrustedProxies {
    /// Trust no proxy: the TCP peer is always the client (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Trust these networks (with the default headers).
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self { networks: networks.into_iter().collect(), ..Self::default() }
    }

    /// Parses a comma-separated list of CIDRs or single addresses (`10.0.0.0/8, 192.0.2.7`).
    /// Empty input trusts nothing.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let mut networks = Vec::new();
        for item in list.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let network = IpNet::from_str(item)
                .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                .map_err(|_| ConfigError::new(format!("`{item}` is not a CIDR block or an IP address")))?;
            networks.push(network);
        }
        Ok(Self::new(networks))
    }

    /// The header the trusted proxies write the client's address in (default `X-Forwarded-For`).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{client::ClientIpHeader, client::TrustedProxies};
    ///
    /// let proxies = TrustedProxies::parse("10.0.0.1").unwrap().with_client_ip_header(ClientIpHeader::XRealIp);
    /// assert_eq!(proxies.client_ip_header(), ClientIpHeader::XRealIp);
    /// ```
    pub fn with_client_ip_header(mut self, header: ClientIpHeader) -> Self {
        self.client_ip_header = header;
        self
    }

    /// The header the trusted proxies write the scheme in (default `X-Forwarded-Proto`).
    ///
    /// # Examples
    /// ```
    /// use secure_api::{client::ProtoHeader, client::TrustedProxies};
    ///
    /// let proxies = TrustedProxies::parse("10.0.0.1").unwrap().with_proto_header(ProtoHeader::Forwarded);
    /// assert_eq!(proxies.proto_header(), ProtoHeader::Forwarded);
    /// ```
    pub fn with_proto_header(mut self, header: ProtoHeader) -> Self {
        self.proto_header = header;
        self
    }

    /// Keep a trusted proxy's `X-Request-Id` (when sane, see [`RequestId::resolve`]) instead of
    /// generating one. Off by default: turn it on only when the proxy sets or overwrites the
    /// header on every request, or a client could choose the id its requests are logged under.
    ///
    /// [`RequestId::resolve`]: crate::request_id::RequestId::resolve
    ///
    /// # Examples
    /// ```
    /// use secure_api::client::TrustedProxies;
    ///
    /// let proxies = TrustedProxies::parse("10.0.0.1").unwrap();
    /// assert!(!proxies.trusts_request_id());
    /// assert!(proxies.with_trusted_request_id(true).trusts_request_id());
    /// ```
    pub fn with_trusted_request_id(mut self, trust: bool) -> Self {
        self.request_id = trust;
        self
    }

    /// Whether `ip` is inside one of the trusted networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// True when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// The one header read for the client's address.
    pub fn client_ip_header(&self) -> ClientIpHeader {
        self.client_ip_header
    }

    /// The one header read for the scheme.
    pub fn proto_header(&self) -> ProtoHeader {
        self.proto_header
    }

    /// Whether a trusted proxy's `X-Request-Id` is kept.
    pub fn trusts_request_id(&self) -> bool {
        self.request_id
    }

    /// Believe the client certificate a trusted proxy forwards in `header` (see
    /// [`ClientCertHeader`]); off by default.
    pub fn with_client_cert_header(mut self, header: ClientCertHeader) -> Self {
        self.client_cert_header = Some(header);
        self
    }

    /// The header a trusted proxy's client certificate is read from, if any.
    pub fn client_cert_header(&self) -> Option<&ClientCertHeader> {
        self.client_cert_header.as_ref()
    }

    /// Whether the `X-Request-Id` of a request from `peer` may be kept: the option is on and
    /// the peer is a trusted proxy.
    pub(crate) fn request_id_from(&self, peer: Option<IpAddr>) -> bool {
        self.request_id && peer.is_some_and(|peer| self.contains(peer))
    }
}

/// The resolved client of one request, available to handlers as an extractor.
///
/// # Examples
/// ```
/// use secure_api::client::ClientIdentity;
///
/// async fn handler(client: ClientIdentity) -> String {
///     format!("hello {}", client.ip)
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The client's address: the TCP peer, or the first untrusted hop named by trusted proxies.
    pub ip: IpAddr,
    /// The request reached us over HTTPS: directly over TLS, or per a trusted proxy's
    /// configured [`ProtoHeader`] saying `https`.
    pub https: bool,
}

impl ClientIdentity {
    /// Resolves the client from the TCP peer and the request headers.
    ///
    /// `peer` is `None` when the server was not started with connection info (for example in
    /// `oneshot` tests); the client is then `0.0.0.0`, one shared bucket for every caller, which
    /// limits rather than exempts.
    ///
    /// # Examples
    /// ```
    /// use secure_api::{client::ClientIdentity, client::TrustedProxies};
    /// use http::HeaderMap;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
    /// headers.insert("forwarded", "for=198.51.100.66".parse().unwrap());
    /// let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
    ///
    /// let via_proxy = ClientIdentity::resolve(Some("10.0.0.1".parse().unwrap()), &headers, &proxies, false);
    /// // Only X-Forwarded-For (the configured header) is read: the client's `Forwarded` is not.
    /// assert_eq!(via_proxy.ip.to_string(), "203.0.113.9");
    ///
    /// // The same header from an untrusted peer is ignored.
    /// let direct = ClientIdentity::resolve(Some("198.51.100.4".parse().unwrap()), &headers, &proxies, false);
    /// assert_eq!(direct.ip.to_string(), "198.51.100.4");
    /// ```
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies, tls: bool) -> Self {
        let peer = canonical(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        if trusted.is_empty() || !trusted.contains(peer) {
            return Self { ip: peer, https: tls };
        }
        let hops = match trusted.client_ip_header {
            ClientIpHeader::XForwardedFor => x_forwarded_for(headers),
            ClientIpHeader::Forwarded => {
                forwarded_elements(headers).into_iter().map(|element| element.for_ip).collect()
            }
            ClientIpHeader::XRealIp => x_real_ip(headers),
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !trusted.contains(client) {
                        break;
                    }
                }
                // An unparseable hop (`unknown`, an obfuscated identifier, garbage) ends the walk:
                // the last address we could verify is the best we know.
                None => break,
            }
        }
        let proto = match trusted.proto_header {
            ProtoHeader::XForwardedProto => x_forwarded_proto(headers),
            // The last element is the one our trusted proxy wrote; earlier ones are hearsay.
            ProtoHeader::Forwarded => forwarded_elements(headers).pop().and_then(|element| element.proto),
            ProtoHeader::None => None,
        };
        let https = tls || proto.is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        Self { ip: client, https }
    }

    /// The network that identifies this client for rate limits: an IPv4 address as is, an
    /// IPv6 address with everything past its first `ipv6_prefix` bits cleared (at most 128).
    ///
    /// An IPv6 host usually gets a whole /64 (SLAAC, privacy addresses), so keying by the full
    /// address would let one client rotate through 2^64 fresh limits; keying by the /64 (the
    /// default of [`RateLimits`](crate::rate::RateLimits)) does not.
    ///
    /// # Examples
    /// ```
    /// use secure_api::client::ClientIdentity;
    ///
    /// let client = ClientIdentity { ip: "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap(), https: false };
    /// assert_eq!(client.rate_network(64).to_string(), "2001:db8:1:2::");
    /// assert_eq!(client.rate_network(48).to_string(), "2001:db8:1::");
    ///
    /// let v4 = ClientIdentity { ip: "192.0.2.7".parse().unwrap(), https: false };
    /// assert_eq!(v4.rate_network(64).to_string(), "192.0.2.7");
    /// ```
    pub fn rate_network(&self, ipv6_prefix: u8) -> IpAddr {
        match self.ip {
            IpAddr::V4(_) => self.ip,
            IpAddr::V6(v6) => {
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are the IPv4 client they stand for.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The hops of every `X-Forwarded-For` header, in order; `None` for a hop that is not an address.
///
/// Split on the raw bytes: a proxy appends `, <peer>` to whatever the client sent, so a client's
/// hop that is not text (bytes 0x80-0xFF, which hyper accepts in a value) must not make the
/// proxy's own hop unreadable too, or the walk would stop at the proxy and the client would be
/// resolved as the trusted proxy itself (past IP deny lists and the penalty box).
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(|hop| std::str::from_utf8(hop).ok().and_then(|hop| parse_node(hop.trim())))
        .collect()
}

/// The one address of `X-Real-IP`, as a one-hop chain. The proxy sets (overwrites) it, so two
/// of them, or a list, mean something is wrong: one unknown hop, and the peer stays the client.
fn x_real_ip(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut values = headers.get_all("x-real-ip").iter();
    match (values.next(), values.next()) {
        (None, _) => Vec::new(),
        (Some(value), None) => vec![value.to_str().ok().and_then(|text| parse_node(text.trim()))],
        (Some(_), Some(_)) => vec![None],
    }
}

fn x_forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let value = headers.get_all("x-forwarded-proto").iter().next_back()?.to_str().ok()?;
    // A proxy chain may append; the value our trusted proxy wrote is the last one.
    value.rsplit(',').next().map(|proto| proto.trim().to_owned())
}

/// One element of an RFC 7239 `Forwarded` header.
#[derive(Debug, Default)]
struct ForwardedElement {
    /// The `for=` node; `None` when absent or not an address (either ends the walk).
    for_ip: Option<IpAddr>,
    proto: Option<String>,
}

fn forwarded_elements(headers: &HeaderMap) -> Vec<ForwardedElement> {
    let mut elements = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        // Element by element on the raw bytes, as for `X-Forwarded-For`: an element that is not
        // text is one unknown hop, not the loss of the elements the proxy appended after it.
        for element in value.as_bytes().split(|&byte| byte == b',') {
            let Ok(element) = std::str::from_utf8(element) else {
                elements.push(ForwardedElement::default());
                continue;
            };
            let mut parsed = ForwardedElement::default();
            for pair in element.split(';') {
                let Some((name, raw)) = pair.split_once('=') else {
                    continue;
                };
                let raw = raw.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "for" => parsed.for_ip = parse_node(raw),
                    "proto" => parsed.proto = Some(raw.to_owned()),
                    _ => {}
                }
            }
            elements.push(parsed);
        }
    }
    elements
}

/// Parses `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(node) {
        return Some(ip);
    }
    if let Ok(socket) = SocketAddr::from_str(node) {
        return Some(socket.ip());
    }
    let bracketed = node.strip_prefix('[')?.strip_suffix(']')?;
    IpAddr::from_str(bracketed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "https")]);
        let id = ClientIdentity::resolve(ip("198.51.100.1"), &h, &TrustedProxies::none(), false);
        assert_eq!(id, ClientIdentity { ip: "198.51.100.1".parse().unwrap(), https: false });
    }

    #[test]
    fn walks_right_to_left_past_trusted_hops() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.0.0.9")]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id.ip.to_string(), "203.0.113.5", "the spoofed left-most entry is not believed");
    }

    /// A client's hop that is not text (hyper accepts bytes 0x80-0xFF in a value) is one unknown
    /// hop: the address the proxy appended after it is still the client, never the proxy.
    #[test]
    fn a_hop_that_is_not_text_does_not_hide_the_hop_the_proxy_appended() {
        let value = |bytes: &[u8]| http::HeaderValue::from_bytes(bytes).unwrap();
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        for sent in [&b"\xff"[..], b"\xff, 10.0.0.7", b"6.6.6.6\xc3"] {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", value(&[sent, b", 203.0.113.9"].concat()));
            let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
            assert_eq!(id.ip.to_string(), "203.0.113.9", "{sent:?}");
        }
        // The walk still stops at the unknown hop: nothing left of it is believed.
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value(b"6.6.6.6, \xff, 10.0.0.7"));
        assert_eq!(ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false).ip.to_string(), "10.0.0.7");

        let trusted = trusted.with_client_ip_header(ClientIpHeader::Forwarded);
        let mut h = HeaderMap::new();
        h.insert(http::header::FORWARDED, value(b"for=\xff, for=203.0.113.9"));
        assert_eq!(ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false).ip.to_string(), "203.0.113.9");
    }

    #[test]
    fn forwarded_header_with_ports_and_proto() {
        let trusted = TrustedProxies::parse("10.0.0.0/8")
            .unwrap()
            .with_client_ip_header(ClientIpHeader::Forwarded)
            .with_proto_header(ProtoHeader::Forwarded);
        let h = headers(&[("forwarded", "for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https")]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id.ip.to_string(), "2001:db8::1");
        assert!(id.https);
    }

    #[test]
    fn a_client_sent_forwarded_changes_nothing_when_the_proxy_writes_x_forwarded_for() {
        // nginx's usual configuration appends to X-Forwarded-For and passes `Forwarded` through.
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[
            ("forwarded", "for=198.51.100.7;proto=https"),
            ("x-real-ip", "198.51.100.8"),
            ("x-forwarded-for", "203.0.113.5"),
            ("x-forwarded-proto", "http"),
        ]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id, ClientIdentity { ip: "203.0.113.5".parse().unwrap(), https: false });
        // Without any X-Forwarded-For the proxy itself is the client, not the `Forwarded` one.
        let only_forwarded = headers(&[("forwarded", "for=198.51.100.7;proto=https")]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &only_forwarded, &trusted, false);
        assert_eq!(id, ClientIdentity { ip: "10.0.0.1".parse().unwrap(), https: false });
    }

    #[test]
    fn x_forwarded_for_is_ignored_when_the_proxy_writes_forwarded() {
        let trusted = TrustedProxies::parse("10.0.0.0/8")
            .unwrap()
            .with_client_ip_header(ClientIpHeader::Forwarded)
            .with_proto_header(ProtoHeader::Forwarded);
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=203.0.113.5;proto=http"),
        ]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id, ClientIdentity { ip: "203.0.113.5".parse().unwrap(), https: false });
    }

    #[test]
    fn forwarded_proto_is_the_last_elements_only() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap().with_proto_header(ProtoHeader::Forwarded);
        let spoofed = headers(&[("forwarded", "for=1.2.3.4;proto=https, for=203.0.113.5")]);
        assert!(!ClientIdentity::resolve(ip("10.0.0.1"), &spoofed, &trusted, false).https);
        let real = headers(&[("forwarded", "for=203.0.113.5;proto=https")]);
        assert!(ClientIdentity::resolve(ip("10.0.0.1"), &real, &trusted, false).https);
    }

    #[test]
    fn no_scheme_header_means_only_direct_tls_is_https() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap().with_proto_header(ProtoHeader::None);
        let claims = headers(&[("x-forwarded-proto", "https"), ("forwarded", "proto=https")]);
        assert!(!ClientIdentity::resolve(ip("10.0.0.1"), &claims, &trusted, false).https);
        assert!(ClientIdentity::resolve(ip("10.0.0.1"), &claims, &trusted, true).https);
    }

    #[test]
    fn a_forwarded_element_without_for_ends_the_walk() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap().with_client_ip_header(ClientIpHeader::Forwarded);
        let h = headers(&[("forwarded", "for=6.6.6.6, proto=https, for=10.0.0.3")]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id.ip.to_string(), "10.0.0.3");
    }

    #[test]
    fn x_real_ip_is_one_address_set_by_the_proxy() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap().with_client_ip_header(ClientIpHeader::XRealIp);
        let resolve = |pairs: &[(&'static str, &'static str)]| {
            ClientIdentity::resolve(ip("10.0.0.1"), &headers(pairs), &trusted, false).ip.to_string()
        };
        assert_eq!(resolve(&[("x-real-ip", "203.0.113.5"), ("x-forwarded-for", "6.6.6.6")]), "203.0.113.5");
        assert_eq!(resolve(&[("x-forwarded-for", "6.6.6.6")]), "10.0.0.1", "missing: the proxy is the client");
        assert_eq!(resolve(&[("x-real-ip", "6.6.6.6, 203.0.113.5")]), "10.0.0.1", "a list is not an address");
        assert_eq!(resolve(&[("x-real-ip", "6.6.6.6"), ("x-real-ip", "203.0.113.5")]), "10.0.0.1", "two: refused");
    }

    #[test]
    fn header_names_parse_in_any_case_and_refuse_others() {
        assert_eq!(" X-Forwarded-For ".parse::<ClientIpHeader>().unwrap(), ClientIpHeader::XForwardedFor);
        assert_eq!("X-REAL-IP".parse::<ClientIpHeader>().unwrap(), ClientIpHeader::XRealIp);
        assert!("true-client-ip".parse::<ClientIpHeader>().is_err());
        assert!("".parse::<ClientIpHeader>().is_err());
        assert_eq!("X-Forwarded-Proto".parse::<ProtoHeader>().unwrap(), ProtoHeader::XForwardedProto);
        assert!("x-forwarded-for".parse::<ProtoHeader>().is_err());
    }

    #[test]
    fn request_ids_are_kept_only_when_asked_and_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert!(!proxies.request_id_from(ip("10.0.0.1")), "off by default");
        let proxies = proxies.with_trusted_request_id(true);
        assert!(proxies.request_id_from(ip("10.0.0.1")));
        assert!(!proxies.request_id_from(ip("192.0.2.1")));
        assert!(!proxies.request_id_from(None));
    }

    #[test]
    fn forwarded_proto_from_a_trusted_proxy_only() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-proto", "https")]);
        assert!(ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false).https);
        assert!(!ClientIdentity::resolve(ip("192.0.2.1"), &h, &trusted, false).https);
    }

    #[test]
    fn unparseable_hop_stops_the_walk() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = headers(&[("x-forwarded-for", "1.1.1.1, garbage, 10.0.0.3")]);
        let id = ClientIdentity::resolve(ip("10.0.0.1"), &h, &trusted, false);
        assert_eq!(id.ip.to_string(), "10.0.0.3");
    }

    #[test]
    fn mapped_ipv4_is_canonicalised() {
        let id = ClientIdentity::resolve(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &TrustedProxies::none(), false);
        assert_eq!(id.ip.to_string(), "192.0.2.1");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_prefix() {
        let a = ClientIdentity { ip: "2001:db8:0:1::1".parse().unwrap(), https: false };
        let b = ClientIdentity { ip: "2001:db8:0:1:ffff:ffff:ffff:ffff".parse().unwrap(), https: false };
        let other = ClientIdentity { ip: "2001:db8:0:2::1".parse().unwrap(), https: false };
        assert_eq!(a.rate_network(64), b.rate_network(64));
        assert_ne!(a.rate_network(64), other.rate_network(64));
        assert_eq!(a.rate_network(128), a.ip);
        assert_eq!(a.rate_network(0).to_string(), "::");
        assert_eq!(a.rate_network(200), a.ip, "prefixes past 128 mean the whole address");
    }

    #[test]
    fn missing_peer_is_one_shared_client() {
        let id = ClientIdentity::resolve(None, &HeaderMap::new(), &TrustedProxies::none(), false);
        assert_eq!(id.ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn header_value() -> impl Strategy<Value = http::HeaderValue> {
        prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..80)
            .prop_map(|bytes| http::HeaderValue::from_bytes(&bytes).unwrap())
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u16; 8]>().prop_map(IpAddr::from)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` from any peer resolves to an
        /// address; from an untrusted peer the headers are ignored.
        #[test]
        fn never_panics_and_ignores_untrusted_peers(
            peer in ip(), xff in header_value(), forwarded in header_value(), proto in header_value(),
        ) {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", xff);
            headers.insert("forwarded", forwarded);
            headers.insert("x-forwarded-proto", proto);
            let everyone = TrustedProxies::parse("0.0.0.0/0, ::/0").unwrap();
            headers.insert("x-real-ip", headers["x-forwarded-for"].clone());
            for ip_header in [ClientIpHeader::XForwardedFor, ClientIpHeader::Forwarded, ClientIpHeader::XRealIp] {
                for proto_header in [ProtoHeader::XForwardedProto, ProtoHeader::Forwarded, ProtoHeader::None] {
                    let proxies = everyone.clone().with_client_ip_header(ip_header).with_proto_header(proto_header);
                    let _ = ClientIdentity::resolve(Some(peer), &headers, &proxies, false);
                }
            }
            let nobody = TrustedProxies::none();
            let direct = ClientIdentity::resolve(Some(peer), &headers, &nobody, false);
            prop_assert_eq!(direct.ip, canonical(peer));
            prop_assert!(!direct.https);
        }

        /// Behind a trusted proxy the client is the rightmost address it does not trust, whether
        /// the chain comes as `X-Forwarded-For` or as `Forwarded`.
        #[test]
        fn the_rightmost_untrusted_hop_is_the_client(hops in prop::collection::vec(any::<[u8; 4]>(), 1..6)) {
            let hops: Vec<IpAddr> = hops.into_iter().map(|octets| IpAddr::from([203, 0, octets[2], octets[3]])).collect();
            let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
            let peer = Some(IpAddr::from([10, 0, 0, 1]));
            let list = hops.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", list.parse().unwrap());
            prop_assert_eq!(ClientIdentity::resolve(peer, &headers, &proxies, false).ip, *hops.last().unwrap());
            let forwarded = hops.iter().map(|ip| format!("for={ip}")).collect::<Vec<_>>().join(", ");
            let mut headers = HeaderMap::new();
            headers.insert("forwarded", forwarded.parse().unwrap());
            let rfc7239 = proxies.clone().with_client_ip_header(ClientIpHeader::Forwarded);
            prop_assert_eq!(ClientIdentity::resolve(peer, &headers, &rfc7239, false).ip, *hops.last().unwrap());
            // The proxy writes X-Forwarded-For: a `Forwarded` it passed through is not read.
            prop_assert_eq!(ClientIdentity::resolve(peer, &headers, &proxies, false).ip, IpAddr::from([10, 0, 0, 1]));
        }

        /// Any proxy list parses or is refused with a message.
        #[test]
        fn trusted_proxies_parse_never_panics(list in "\\PC{0,60}", cidr in "[0-9a-f:./, ]{0,40}") {
            let _ = TrustedProxies::parse(&list);
            let _ = TrustedProxies::parse(&cidr);
        }
    }
}
