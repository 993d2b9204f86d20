//! IP allow and deny lists: per route (`allow_ips` / `deny_ips` in `#[secure]` and `#[public]`,
//! parsed at compile time) and app-wide ([`SecurityBuilder::ip_rules`](crate::SecurityBuilder::ip_rules)).
//!
//! Decisions use the trusted [`ClientIdentity`](crate::client::ClientIdentity): the TCP peer, or the
//! client named by a trusted proxy, never a forwarding header from anyone else. A deny entry
//! always wins; when an allow list is present, only addresses inside it pass. A request that
//! fails is answered `403` problem+json with outcome `denied:ip_rule`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use http::StatusCode;

use crate::audit::Outcome;
use crate::config::ConfigError;
use crate::problem::Problem;

/// An IPv4 or IPv6 network in CIDR notation, usable in `const` context (the macros build the
/// per-route lists as constants).
///
/// # Examples
/// ```
/// use secure_api::ip_rules::Cidr;
///
/// const OFFICE: Cidr = Cidr::v4(192, 0, 2, 0, 24);
/// assert!(OFFICE.contains("192.0.2.77".parse().unwrap()));
/// assert!(!OFFICE.contains("198.51.100.1".parse().unwrap()));
///
/// let v6: Cidr = "2001:db8::/32".parse().unwrap();
/// assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
/// assert!("10.0.0.1/8".parse::<Cidr>().is_err(), "host bits set: did you mean 10.0.0.0/8?");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `a.b.c.d/prefix`; a prefix above 32 is read as 32.
    pub const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        let prefix = if prefix > 32 { 32 } else { prefix };
        Self { network: IpAddr::V4(Ipv4Addr::new(a, b, c, d)), prefix }
    }

    /// An IPv6 network from its eight 16-bit segments; a prefix above 128 is read as 128.
    pub const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        let prefix = if prefix > 128 { 128 } else { prefix };
        Self { network: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)), prefix }
    }

    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a single address (`/32` or `/128`). Refuses a
    /// prefix longer than the address and an address with bits set after the prefix.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = IpAddr::from_str(address)
            .map_err(|_| ConfigError::new(format!("`{text}` is not an IP address or CIDR block")))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            // Digits only: `u8::from_str` would also take `+8`.
            Some(prefix) => match prefix.parse::<u8>() {
                Ok(length) if length <= max && prefix.bytes().all(|b| b.is_ascii_digit()) => length,
                _ => return Err(ConfigError::new(format!("`{text}`: the prefix length must be 0..={max}"))),
            },
        };
        let cidr = Self { network, prefix };
        if cidr.masked() != network {
            return Err(ConfigError::new(format!(
                "`{text}` has bits set after the /{prefix} prefix; did you mean `{}/{prefix}`?",
                cidr.masked()
            )));
        }
        Ok(cidr)
    }

    /// The network address.
    pub const fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`)
    /// count as the IPv4 address they carry.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = mask_u32(self.prefix);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = mask_u128(self.prefix);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            // A network written in IPv4-mapped form (`::ffff:192.0.2.0/120`) holds the IPv4
            // clients it maps: peers are compared as IPv4, so it would otherwise match none
            // (a deny entry that never denies).
            (IpAddr::V6(network), IpAddr::V4(ip)) if self.prefix >= 96 => {
                network.to_ipv4_mapped().is_some_and(|network| {
                    let mask = mask_u32(self.prefix - 96);
                    u32::from(network) & mask == u32::from(ip) & mask
                })
            }
            _ => false,
        }
    }

    fn masked(&self) -> IpAddr {
        match self.network {
            IpAddr::V4(network) => IpAddr::V4(Ipv4Addr::from(u32::from(network) & mask_u32(self.prefix))),
            IpAddr::V6(network) => IpAddr::V6(Ipv6Addr::from(u128::from(network) & mask_u128(self.prefix))),
        }
    }
}

impl FromStr for Cidr {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask_u32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask_u128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` passes an allow list and a deny list: a deny entry always wins; a non-empty
/// allow list admits only its networks; two empty lists admit everyone.
pub(crate) fn ip_allowed(allow: &[Cidr], deny: &[Cidr], ip: IpAddr) -> bool {
    if deny.iter().any(|cidr| cidr.contains(ip)) {
        return false;
    }
    allow.is_empty() || allow.iter().any(|cidr| cidr.contains(ip))
}

/// App-wide IP allow and deny lists, checked by the [`SecurityLayer`](crate::layer::SecurityLayer)
/// for every request, before routing-level checks.
///
/// # Examples
/// ```
/// use secure_api::{ip_rules::IpRules, Security};
///
/// let rules = IpRules::new().allow("10.0.0.0/8, 2001:db8::/32")?.deny("10.66.0.0/16")?;
/// assert!(rules.allows("10.1.1.1".parse().unwrap()));
/// assert!(!rules.allows("10.66.1.1".parse().unwrap()));
/// let security = Security::builder().ip_rules(rules).build();
/// # Ok::<(), secure_api::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpRules {
    allow: Vec<Cidr>,
    deny: Vec<Cidr>,
}

impl IpRules {
    /// No rules: every address passes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds comma-separated networks to the allow list.
    pub fn allow(mut self, list: &str) -> Result<Self, ConfigError> {
        self.allow.extend(parse_list(list)?);
        Ok(self)
    }

    /// Adds comma-separated networks to the deny list.
    pub fn deny(mut self, list: &str) -> Result<Self, ConfigError> {
        self.deny.extend(parse_list(list)?);
        Ok(self)
    }

    /// Whether `ip` passes these rules.
    pub fn allows(&self, ip: IpAddr) -> bool {
        ip_allowed(&self.allow, &self.deny, ip)
    }

    /// True when there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

fn parse_list(list: &str) -> Result<Vec<Cidr>, ConfigError> {
    list.split(',').map(str::trim).filter(|item| !item.is_empty()).map(Cidr::parse).collect()
}

/// The 403 for a client outside the lists. The detail does not say which rule matched: that
/// is for the operator's log, not for a caller probing the rules.
pub(crate) fn ip_denied() -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "ip-denied", "Forbidden")
        .with_detail("Requests from your network address are not allowed here.")
        .with_outcome(Outcome::DENIED_IP_RULE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_validates() {
        assert_eq!(Cidr::parse("10.0.0.0/8").unwrap(), Cidr::v4(10, 0, 0, 0, 8));
        assert_eq!(Cidr::parse("192.0.2.7").unwrap(), Cidr::v4(192, 0, 2, 7, 32));
        assert_eq!(Cidr::parse("2001:db8::/32").unwrap(), Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32));
        assert_eq!(Cidr::parse("::1").unwrap().prefix(), 128);
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().prefix(), 0);
        for bad in [
            "10.0.0.0/33",
            "10.0.0.1/8",
            "2001:db8::/129",
            "300.1.1.1",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "x",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        assert!(Cidr::parse("10.0.0.1/8").unwrap_err().to_string().contains("10.0.0.0/8"));
    }

    #[test]
    fn contains_v4_v6_and_mapped() {
        let v4 = Cidr::v4(10, 0, 0, 0, 8);
        assert!(v4.contains(ip("10.255.0.1")));
        assert!(!v4.contains(ip("11.0.0.1")));
        assert!(v4.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6 is the IPv4 client");
        assert!(!v4.contains(ip("2001:db8::1")));
        let v6 = Cidr::parse("2001:db8:abcd::/48").unwrap();
        assert!(v6.contains(ip("2001:db8:abcd:12::1")));
        assert!(!v6.contains(ip("2001:db8:abce::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert!(Cidr::v4(0, 0, 0, 0, 0).contains(ip("203.0.113.1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        // Written in IPv4-mapped form: the IPv4 clients it maps, however they arrive.
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.1.2.3")) && mapped.contains(ip("::ffff:10.1.2.3")));
        assert!(!mapped.contains(ip("11.0.0.1")));
        let one = Cidr::parse("::ffff:192.0.2.1").unwrap();
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        assert!(!Cidr::parse("::/0").unwrap().contains(ip("10.0.0.1")), "::/0 is every IPv6 client, as before");
    }

    #[test]
    fn deny_wins_and_allow_restricts() {
        let rules =
            IpRules::new().allow("10.0.0.0/8, 2001:db8::/32").unwrap().deny("10.66.0.0/16, 2001:db8:bad::/48").unwrap();
        assert!(rules.allows(ip("10.1.1.1")));
        assert!(!rules.allows(ip("10.66.1.1")));
        assert!(rules.allows(ip("2001:db8::1")));
        assert!(!rules.allows(ip("2001:db8:bad::1")));
        assert!(!rules.allows(ip("192.0.2.1")));
        assert!(IpRules::new().allows(ip("192.0.2.1")));
        let deny_only = IpRules::new().deny("192.0.2.0/24").unwrap();
        assert!(!deny_only.allows(ip("192.0.2.9")));
        assert!(deny_only.allows(ip("198.51.100.9")));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text parses or is refused with a message.
        #[test]
        fn parse_never_panics(text in "\\PC{0,50}", near in "[0-9a-fA-F:.]{0,40}(/[0-9+-]{0,4})?") {
            let _ = Cidr::parse(&text);
            let _ = Cidr::parse(&near);
            let _ = IpRules::new().allow(&text);
        }

        /// A network prints as `address/prefix` and parses back to itself, and contains its own
        /// network address.
        #[test]
        fn cidrs_round_trip(v4 in any::<[u8; 4]>(), v6 in any::<[u16; 8]>(), p4 in 0u8..=32, p6 in 0u8..=128) {
            let [a, b, c, d] = v4;
            for cidr in [Cidr::v4(a, b, c, d, p4).masked_cidr(), Cidr::v6(v6, p6).masked_cidr()] {
                let text = cidr.to_string();
                prop_assert_eq!(Cidr::parse(&text).unwrap(), cidr);
                prop_assert!(cidr.contains(cidr.network()));
            }
        }
    }

    impl Cidr {
        fn masked_cidr(self) -> Self {
            Self { network: self.masked(), prefix: self.prefix }
        }
    }
}
