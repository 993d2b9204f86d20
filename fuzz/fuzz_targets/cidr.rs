//! CIDR blocks and proxy lists: any text parses or is refused, and what parses prints back to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secure_api::{ip_rules::Cidr, ip_rules::IpRules, client::TrustedProxies};

fuzz_target!(|text: &str| {
    if let Ok(cidr) = Cidr::parse(text) {
        assert_eq!(Cidr::parse(&cidr.to_string()).ok(), Some(cidr));
        assert!(cidr.contains(cidr.network()));
    }
    let _ = TrustedProxies::parse(text);
    let _ = IpRules::new().allow(text);
});
