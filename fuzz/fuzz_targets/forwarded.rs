//! `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` from a trusted proxy: any bytes resolve
//! to a client address without a panic.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use secure_api::{client::ClientIdentity, client::TrustedProxies};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |byte| *byte == 0);
    let mut headers = HeaderMap::new();
    for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto"] {
        if let Some(Ok(value)) = parts.next().map(HeaderValue::from_bytes) {
            headers.insert(name, value);
        }
    }
    let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1, ::1").expect("valid list");
    for peer in ["10.0.0.1", "203.0.113.9", "::1"] {
        let _ = ClientIdentity::resolve(peer.parse().ok(), &headers, &proxies, false);
    }
});
