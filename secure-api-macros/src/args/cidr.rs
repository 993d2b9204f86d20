//! The CIDR grammar shared by `allow_ips` and `deny_ips`: `10.0.0.0/8`, `2001:db8::/32`, or a
//! single address. Pure and unit-tested; the runtime's `Cidr::parse` applies the same rules to
//! app-wide lists read at start-up.

use std::net::IpAddr;

/// A validated network: the address has no bits set after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) network: IpAddr,
    pub(crate) prefix: u8,
}

/// Parses one CIDR block, or says what is wrong in words a user can act on.
pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let network: IpAddr = address.parse().map_err(|_| {
        format!("`{text}` is not a CIDR block; expected e.g. `\"10.0.0.0/8\"`, `\"2001:db8::/32\"` or `\"192.0.2.7\"`")
    })?;
    let max: u8 = if network.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
            match prefix.parse::<u8>() {
                Ok(length) if length <= max => length,
                _ => return Err(format!("`{text}`: the prefix length of an {} network is 0..={max}", family(network))),
            }
        }
        Some(_) => return Err(format!("`{text}`: the prefix length of an {} network is 0..={max}", family(network))),
    };
    let masked = mask(network, prefix);
    if masked != network {
        return Err(format!("`{text}` has bits set after the /{prefix} prefix; did you mean `\"{masked}/{prefix}\"`?"));
    }
    Ok(Cidr { network, prefix })
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

impl Cidr {
    /// Whether two blocks overlap (one contains the other).
    pub(crate) fn overlaps(&self, other: &Cidr) -> bool {
        if self.network.is_ipv4() != other.network.is_ipv4() {
            return false;
        }
        let shorter = self.prefix.min(other.prefix);
        mask(self.network, shorter) == mask(other.network, shorter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_networks_and_addresses() {
        assert_eq!(parse("10.0.0.0/8").unwrap().prefix, 8);
        assert_eq!(parse("192.0.2.7").unwrap().prefix, 32);
        assert_eq!(parse("2001:db8::/32").unwrap().prefix, 32);
        assert_eq!(parse("::1").unwrap().prefix, 128);
        assert_eq!(parse("0.0.0.0/0").unwrap().prefix, 0);
    }

    #[test]
    fn rejects_with_a_useful_message() {
        assert!(parse("10.0.0.0/33").unwrap_err().contains("0..=32"));
        assert!(parse("2001:db8::/129").unwrap_err().contains("0..=128"));
        assert!(parse("10.0.0.1/8").unwrap_err().contains("did you mean `\"10.0.0.0/8\"`"));
        assert!(parse("10.0.0/8").is_err());
        assert!(parse("10.0.0.0/+8").is_err());
        assert!(parse("10.0.0.0/").is_err());
        assert!(parse("localhost").is_err());
    }

    #[test]
    fn overlap() {
        assert!(parse("10.0.0.0/8").unwrap().overlaps(&parse("10.1.0.0/16").unwrap()));
        assert!(!parse("10.0.0.0/8").unwrap().overlaps(&parse("11.0.0.0/8").unwrap()));
        assert!(!parse("::/0").unwrap().overlaps(&parse("10.0.0.0/8").unwrap()));
    }
}
