//! Who a request is counted against: the TCP peer unless a trusted proxy says otherwise, IPv6
//! clients by their /64, and the RateLimit / Retry-After values on a short window.

use std::time::Duration;

use secure_api::SecureApp;
use secure_api::rate::RateLimits;
use secure_api::routing::get;
use secure_api::{SecureRouter, Security, client::ClientIpHeader, client::TrustedProxies, public};

use crate::common::{self, assert_problem, send};
use crate::support::from_peer;

#[public(rate = "2/1m")]
async fn ping() -> &'static str {
    "pong"
}

#[public(rate = "2/2s")]
async fn fast() -> &'static str {
    "pong"
}

fn app_with(security: Security) -> SecureApp {
    SecureRouter::new().route("/ping", get(ping)).route("/fast", get(fast)).with_state(security)
}

fn app(trusted: &str) -> SecureApp {
    app_with(Security::builder().trusted_proxies(TrustedProxies::parse(trusted).unwrap()).build())
}

async fn status(app: &SecureApp, peer: &str, headers: &[(&str, &str)]) -> u16 {
    send(app, from_peer(common::get("/ping", headers), peer)).await.status.as_u16()
}

#[tokio::test]
async fn spoofed_forwarded_headers_from_an_untrusted_peer_do_not_change_the_key() {
    let app = app("10.0.0.0/8");
    let peer = "198.51.100.1";
    assert_eq!(status(&app, peer, &[("x-forwarded-for", "203.0.113.1")]).await, 200);
    assert_eq!(status(&app, peer, &[("x-forwarded-for", "203.0.113.2")]).await, 200);
    // A fresh spoofed address each time changes nothing: the peer is the client.
    assert_eq!(status(&app, peer, &[("x-forwarded-for", "203.0.113.3")]).await, 429);
    assert_eq!(status(&app, peer, &[("forwarded", "for=203.0.113.4")]).await, 429);
    assert_eq!(status(&app, peer, &[]).await, 429);
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_header_names_the_client() {
    let app = app("10.0.0.0/8");
    let proxy = "10.0.0.1";
    assert_eq!(status(&app, proxy, &[("x-forwarded-for", "203.0.113.1")]).await, 200);
    // A client that prepends its own spoofed hop is still keyed by the address the proxy saw.
    assert_eq!(status(&app, proxy, &[("x-forwarded-for", "6.6.6.6, 203.0.113.1")]).await, 200);
    assert_eq!(status(&app, proxy, &[("x-forwarded-for", "203.0.113.1")]).await, 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(status(&app, proxy, &[("x-forwarded-for", "203.0.113.2")]).await, 200);
    // The proxy's own requests (no header) are keyed by the proxy.
    assert_eq!(status(&app, proxy, &[]).await, 200);
    // The proxy writes X-Forwarded-For: a `Forwarded` or `X-Real-IP` it passes through is not a
    // fresh identity (issue 15 §2), so these count against the proxy's own key, now spent.
    assert_eq!(status(&app, proxy, &[("forwarded", "for=203.0.113.9")]).await, 200);
    assert_eq!(status(&app, proxy, &[("forwarded", "for=203.0.113.10")]).await, 429);
    assert_eq!(status(&app, proxy, &[("x-real-ip", "203.0.113.11")]).await, 429);
}

#[tokio::test]
async fn the_configured_header_alone_names_the_client() {
    let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap().with_client_ip_header(ClientIpHeader::XRealIp);
    let app = app_with(Security::builder().trusted_proxies(proxies).build());
    let proxy = "10.0.0.1";
    assert_eq!(status(&app, proxy, &[("x-real-ip", "203.0.113.1")]).await, 200);
    assert_eq!(status(&app, proxy, &[("x-real-ip", "203.0.113.1"), ("x-forwarded-for", "6.6.6.6")]).await, 200);
    assert_eq!(status(&app, proxy, &[("x-real-ip", "203.0.113.1"), ("forwarded", "for=6.6.6.7")]).await, 429);
    assert_eq!(status(&app, proxy, &[("x-real-ip", "203.0.113.2")]).await, 200);
}

#[tokio::test]
async fn ipv6_clients_are_keyed_by_their_64() {
    let app = app("");
    assert_eq!(status(&app, "2001:db8:1:2::1", &[]).await, 200);
    assert_eq!(status(&app, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &[]).await, 200);
    // Rotating addresses inside the /64 does not reset the limit.
    assert_eq!(status(&app, "2001:db8:1:2:ffff::9", &[]).await, 429);
    // The neighbouring /64 is another client.
    assert_eq!(status(&app, "2001:db8:1:3::1", &[]).await, 200);
    // IPv4-mapped addresses are the IPv4 client.
    assert_eq!(status(&app, "192.0.2.1", &[]).await, 200);
    assert_eq!(status(&app, "::ffff:192.0.2.1", &[]).await, 200);
    assert_eq!(status(&app, "192.0.2.1", &[]).await, 429);
}

#[tokio::test]
async fn the_ipv6_prefix_is_configurable() {
    let app = app_with(Security::builder().rate_limits(RateLimits::in_memory().ipv6_prefix(48)).build());
    assert_eq!(status(&app, "2001:db8:1:2::1", &[]).await, 200);
    assert_eq!(status(&app, "2001:db8:1:3::1", &[]).await, 200);
    assert_eq!(status(&app, "2001:db8:1:ffff::1", &[]).await, 429, "same /48");
    assert_eq!(status(&app, "2001:db8:2::1", &[]).await, 200);
}

#[tokio::test]
async fn retry_after_is_never_earlier_than_a_retry_can_succeed() {
    let app = app("");
    let request = || from_peer(common::get("/fast", &[]), "192.0.2.50");
    // 2 per 2 s: a burst of 2, then one per second.
    let first = send(&app, request()).await;
    assert_eq!(first.header("ratelimit-policy"), "\"2/2s\";q=2;w=2");
    assert_eq!(first.header("ratelimit"), "\"2/2s\";r=1;t=1");
    assert_eq!(send(&app, request()).await.header("ratelimit"), "\"2/2s\";r=0;t=2");
    let refused = send(&app, request()).await;
    assert_problem(&refused, 429);
    assert_eq!(refused.header("retry-after"), "1");
    assert_eq!(refused.header("ratelimit"), "\"2/2s\";r=0;t=2");
    // Waiting exactly Retry-After is enough.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let retried = send(&app, request()).await;
    assert_eq!(retried.status, 200, "{retried:?}");
    // r is 0 unless the sleep overshot by a whole period on a busy machine.
    assert!(retried.header("ratelimit").starts_with("\"2/2s\";r="), "{retried:?}");
}
