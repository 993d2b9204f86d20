//! IP allow/deny lists: per route (`allow_ips` / `deny_ips`, compiled) and app-wide, decided on
//! the trusted client address, answered 403 problem+json before authentication. IPv4 and IPv6,
//! through `oneshot` with a peer address and over real IPv4 / IPv6 loopback sockets.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use secure_api::SecureApp;
use secure_api::routing::get;
use secure_api::{
    Principal, SecureRouter, Security, client::ClientIdentity, client::ClientIpHeader, client::TrustedProxies,
    ip_rules::IpRules, public, secure,
};

use crate::common::{self, Reply, assert_problem, bearer, send};

#[public(allow_ips = ["10.0.0.0/8", "2001:db8:a::/48"])]
async fn internal(client: ClientIdentity) -> String {
    format!("hello {}", client.ip)
}

#[public(deny_ips = ["192.0.2.0/24", "2001:db8:bad::/48"])]
async fn open_but_not_to_them() -> &'static str {
    "open"
}

#[public(allow_ips = ["10.0.0.0/8"], deny_ips = ["10.66.0.0/16"])]
async fn carve_out() -> &'static str {
    "carved"
}

#[secure(auth = "oauth", scopes = ["items:read"], allow_ips = ["::1", "127.0.0.1"])]
async fn loopback_only(principal: Principal) -> String {
    principal.id().to_owned()
}

fn security(ip_rules: IpRules, proxies: &str) -> Security {
    security_behind(ip_rules, TrustedProxies::parse(proxies).unwrap())
}

fn security_behind(ip_rules: IpRules, trusted_proxies: TrustedProxies) -> Security {
    let config = secure_api_examples::quickstart::Config { ip_rules, trusted_proxies, ..common::config() };
    secure_api_examples::quickstart::security(&config).unwrap()
}

fn app_with(security: Security) -> SecureApp {
    SecureRouter::new()
        .route("/internal", get(internal))
        .route("/public", get(open_but_not_to_them))
        .route("/carve", get(carve_out))
        .route("/loopback", get(loopback_only))
        .with_state(security)
}

fn app() -> SecureApp {
    app_with(security(IpRules::new(), ""))
}

/// `GET path` from the TCP peer `peer`, with extra headers.
async fn from(app: &SecureApp, peer: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    send(app, request).await
}

#[tokio::test]
async fn allow_list_admits_only_its_networks_v4_and_v6() {
    let app = app();
    let reply = from(&app, "10.1.2.3:5000", "/internal", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text, "hello 10.1.2.3");
    assert_eq!(from(&app, "[2001:db8:a:1::7]:5000", "/internal", &[]).await.status, 200);

    for outsider in ["192.0.2.1:5000", "[2001:db8:b::1]:5000", "11.0.0.1:1"] {
        let reply = from(&app, outsider, "/internal", &[]).await;
        assert_problem(&reply, 403);
        assert_eq!(reply.body["type"], "urn:secure-api:problem:ip-denied");
    }
    // An IPv4-mapped IPv6 peer is the IPv4 client it carries.
    assert_eq!(from(&app, "[::ffff:10.9.9.9]:5000", "/internal", &[]).await.status, 200);
}

#[tokio::test]
async fn deny_list_refuses_its_networks_and_deny_wins_over_allow() {
    let app = app();
    assert_eq!(from(&app, "198.51.100.1:1", "/public", &[]).await.status, 200);
    assert_problem(&from(&app, "192.0.2.200:1", "/public", &[]).await, 403);
    assert_problem(&from(&app, "[2001:db8:bad:ff::1]:1", "/public", &[]).await, 403);
    assert_eq!(from(&app, "[2001:db8:600d::1]:1", "/public", &[]).await.status, 200);

    assert_eq!(from(&app, "10.1.1.1:1", "/carve", &[]).await.status, 200);
    assert_problem(&from(&app, "10.66.1.1:1", "/carve", &[]).await, 403);
}

#[tokio::test]
async fn ip_rules_run_before_authentication() {
    let app = app();
    // No credentials from an outsider: the IP rule answers, not the 401 challenge.
    let reply = from(&app, "192.0.2.1:1", "/loopback", &[]).await;
    assert_problem(&reply, 403);
    assert!(reply.headers.get("www-authenticate").is_none());
    // From loopback the normal pipeline runs.
    let reply = from(&app, "127.0.0.1:1", "/loopback", &[]).await;
    assert_problem(&reply, 401);
    let token = bearer(&common::token("items:read"));
    let reply = from(&app, "[::1]:1", "/loopback", &[("authorization", &token)]).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    // Not trusted: X-Forwarded-For is a claim by the client and is ignored.
    let app = app();
    let forged = [("x-forwarded-for", "10.0.0.5")];
    assert_problem(&from(&app, "192.0.2.1:1", "/internal", &forged).await, 403);

    // Behind a trusted proxy the forwarded client is the one judged, IPv4 or IPv6.
    let app = app_with(security(IpRules::new(), "172.16.0.0/12, fd00::/8"));
    assert_eq!(from(&app, "172.16.0.2:1", "/internal", &[("x-forwarded-for", "10.0.0.5")]).await.status, 200);
    assert_problem(&from(&app, "172.16.0.2:1", "/internal", &[("x-forwarded-for", "192.0.2.9")]).await, 403);
    let forwarded = [("forwarded", "for=\"[2001:db8:a::9]:443\"")];
    assert_eq!(from(&app, "[fd00::1]:1", "/internal", &[("x-forwarded-for", "2001:db8:a::9")]).await.status, 200);
    // A client cannot launder a refused address by prepending a spoofed allowed one.
    let spoofed = [("x-forwarded-for", "10.0.0.5, 192.0.2.9")];
    assert_problem(&from(&app, "172.16.0.2:1", "/internal", &spoofed).await, 403);
    // The proxy writes X-Forwarded-For (the default): a `Forwarded` or `X-Real-IP` it passed
    // through is the client's own claim and is never read (issue 15 §2).
    assert_problem(&from(&app, "[fd00::1]:1", "/internal", &forwarded).await, 403);
    let claims = [("forwarded", "for=10.0.0.5"), ("x-real-ip", "10.0.0.5"), ("x-forwarded-for", "192.0.2.9")];
    assert_problem(&from(&app, "172.16.0.2:1", "/internal", &claims).await, 403);

    // A proxy configured as writing RFC 7239 `Forwarded`: its `for=` names the client, and
    // X-Forwarded-For is now the one ignored.
    let rfc7239 = TrustedProxies::parse("fd00::/8").unwrap().with_client_ip_header(ClientIpHeader::Forwarded);
    let app = app_with(security_behind(IpRules::new(), rfc7239));
    assert_eq!(from(&app, "[fd00::1]:1", "/internal", &forwarded).await.status, 200);
    let claims = [("x-forwarded-for", "10.0.0.5"), ("forwarded", "for=192.0.2.9")];
    assert_problem(&from(&app, "[fd00::1]:1", "/internal", &claims).await, 403);
}

#[tokio::test]
async fn app_wide_rules_cover_every_route_including_unknown_ones() {
    let rules = IpRules::new().allow("10.0.0.0/8, 2001:db8::/32").unwrap().deny("10.13.0.0/16").unwrap();
    let app = app_with(security(rules, ""));
    assert_eq!(from(&app, "10.1.1.1:1", "/public", &[]).await.status, 200);
    assert_eq!(from(&app, "[2001:db8::5]:1", "/public", &[]).await.status, 200);
    let reply = from(&app, "10.13.0.1:1", "/public", &[]).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "refusals get the security headers");
    assert_problem(&from(&app, "192.0.2.1:1", "/no-such-route", &[]).await, 403);
    assert_problem(&from(&app, "[2001:db9::1]:1", "/public", &[]).await, 403);
}

#[tokio::test]
async fn quickstart_app_wide_lists_from_the_environment_over_real_sockets() {
    use secure_api_examples::quickstart::{self, Config, Transport};

    // Allow IPv6 loopback only: the IPv4 loopback client is refused, the IPv6 one served.
    let config = Config { ip_rules: IpRules::new().allow("::1/128").unwrap(), ..common::config() };
    let mut addrs = Vec::new();
    let mut stops = Vec::new();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = quickstart::app(&config).unwrap();
        tokio::spawn(quickstart::serve(Transport::Http, app, listener, None, async {
            let _ = stopped.await;
        }));
        stops.push(stop);
    }
    let client = reqwest::Client::new();
    let v4 = client.get(format!("http://{}/health", addrs[0])).send().await.unwrap();
    assert_eq!(v4.status(), 403);
    assert_eq!(v4.headers()["content-type"], "application/problem+json");
    let v6 = client.get(format!("http://{}/health", addrs[1])).send().await.unwrap();
    assert_eq!(v6.status(), 200);
    for stop in stops {
        let _ = stop.send(());
    }
}
