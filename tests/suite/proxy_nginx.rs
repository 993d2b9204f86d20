//! The quickstart behind a REAL nginx (Debian's package) as its trusted reverse proxy, each on
//! its own loopback port (issue 15 §2). nginx runs the usual configuration: it appends the peer
//! to `X-Forwarded-For`, overwrites `X-Forwarded-Proto` and `Host`, and passes every other
//! header, a client's own `Forwarded` or `X-Real-IP` included, through untouched.
//!
//! Clients connect from distinct loopback addresses (127.0.0.2, .4, ...) and nginx connects to
//! the app from 127.0.0.3 (`proxy_bind`), the only trusted proxy, so the test sees which address
//! the app believed. Skips with a note when nginx is missing, unless `SECURE_API_REQUIRE_NGINX=1`.

use std::net::{IpAddr, SocketAddr};

use secure_api_examples::quickstart::{self, Config};
use serde_json::Value;

use crate::support::nginx::Nginx;

/// What nginx's documentation and most deployments write in front of an app.
const USUAL_HEADERS: &str = "proxy_set_header Host $host;\n\
     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
     proxy_set_header X-Forwarded-Proto $scheme;";

/// The address nginx connects to the app from: the one trusted proxy.
const PROXY_ADDR: &str = "127.0.0.3";

/// What an attacker adds to every request to pass for 203.0.113.7 over HTTPS.
const SPOOFS: [(&str, &str); 4] = [
    ("forwarded", "for=203.0.113.7;proto=https"),
    ("x-real-ip", "203.0.113.7"),
    ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
    ("x-forwarded-proto", "https"),
];

/// The quickstart configured from `env` (plus `SECURE_API_TRUSTED_PROXIES=127.0.0.3`), served
/// with `secure_api::serve` on a free loopback port, behind an nginx whose `location /` proxies
/// to it with `directives`. `None` when nginx is missing (the test then skips).
async fn behind_nginx(test: &str, env: &[(&'static str, &'static str)], directives: &str) -> Option<Nginx> {
    let mut env = env.to_vec();
    env.push(("SECURE_API_TRUSTED_PROXIES", PROXY_ADDR));
    let config =
        Config::from_lookup(|name| env.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned()))
            .expect("a valid quickstart environment")
            .config;
    let (listener, app_addr) = bind().await;
    let nginx = Nginx::start(test, &location("/", app_addr, directives))?;
    tokio::spawn(secure_api::serve(listener, quickstart::app(&config).unwrap()));
    Some(nginx)
}

async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// `location <path> { proxy_pass http://<app>/; proxy_bind 127.0.0.3; <directives> }` (the URI
/// past `path` is passed on, so `/terminated/health` reaches the app as `/health`).
fn location(path: &str, app: SocketAddr, directives: &str) -> String {
    format!("location {path} {{\nproxy_pass http://{app}/;\nproxy_bind {PROXY_ADDR};\n{directives}\n}}\n")
}

/// A client whose connections come from the loopback address `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    let ip: IpAddr = ip.parse().unwrap();
    reqwest::Client::builder().local_address(ip).no_proxy().build().unwrap()
}

fn with_spoofs(mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    for (name, value) in SPOOFS {
        request = request.header(name, value);
    }
    request
}

#[tokio::test]
async fn the_deny_list_applies_to_the_real_client_whatever_it_claims() {
    let env = [("SECURE_API_DENY_IPS", "127.0.0.2")];
    let Some(nginx) = behind_nginx("proxy_nginx::deny_list", &env, USUAL_HEADERS).await else {
        return;
    };
    let url = format!("{}/health", nginx.url());

    let denied = client_from("127.0.0.2");
    for spoofed in [false, true] {
        let request = denied.get(&url);
        let request = if spoofed { with_spoofs(request) } else { request };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "spoofed headers: {spoofed}; nginx log:\n{}", nginx.error_log());
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    // One header at a time too: none of them is read when the proxy writes X-Forwarded-For.
    for (name, value) in SPOOFS {
        let response = denied.get(&url).header(name, value).send().await.unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
    }

    // A value that is not text (bytes 0x80-0xFF pass hyper and nginx): nginx appends the real
    // address after it, and that hop is still read; before, the whole value was unreadable and
    // the client was taken for the proxy itself, past the deny list.
    for sent in [&b"\xff"[..], b"6.6.6.6\xc3\x28", b"\x80, 10.0.0.1"] {
        let value = http::HeaderValue::from_bytes(sent).unwrap();
        let response = denied.get(&url).header("x-forwarded-for", value).send().await.unwrap();
        assert_eq!(response.status(), 403, "{sent:?}; nginx log:\n{}", nginx.error_log());
    }

    // Another client (and so not the proxy's own address either) is served.
    let response = with_spoofs(client_from("127.0.0.4").get(&url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn the_token_endpoint_limit_is_keyed_on_the_real_client() {
    let Some(nginx) = behind_nginx("proxy_nginx::rate_limit", &[], USUAL_HEADERS).await else {
        return;
    };
    let url = format!("{}/oauth/token", nginx.url());
    let guess = |client: &reqwest::Client, attempt: usize| {
        // A fresh claimed address on every guess, in every header an attacker might try.
        let claimed = format!("198.51.100.{attempt}");
        client
            .post(&url)
            .basic_auth("demo-client", Some(format!("guess-{attempt}")))
            .form(&[("grant_type", "client_credentials")])
            .header("forwarded", format!("for={claimed}"))
            .header("x-real-ip", &claimed)
            .header("x-forwarded-for", &claimed)
    };

    let attacker = client_from("127.0.0.5");
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        statuses.push(guess(&attacker, attempt).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "10 guesses evaluated per minute: {statuses:?}");
    assert_eq!(statuses[10..], [429; 2], "then limited, whatever address is claimed: {statuses:?}");

    // The limit is the attacker's, not the proxy's: another client behind nginx is evaluated.
    let other = guess(&client_from("127.0.0.6"), 99).send().await.unwrap();
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn a_client_sent_https_claim_does_not_turn_on_hsts() {
    // `/` as plain HTTP (nginx writes `X-Forwarded-Proto: http`); `/terminated/` as if nginx had
    // terminated TLS and said so, which is what HSTS must follow.
    let (listener, app) = bind().await;
    let terminated = "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                      proxy_set_header X-Forwarded-Proto https;";
    let server = location("/", app, USUAL_HEADERS) + &location("/terminated/", app, terminated);
    let Some(nginx) = Nginx::start("proxy_nginx::hsts", &server) else {
        return;
    };
    let config = Config {
        trusted_proxies: secure_api::client::TrustedProxies::parse(PROXY_ADDR).unwrap(),
        ..crate::common::config()
    };
    tokio::spawn(secure_api::serve(listener, quickstart::app(&config).unwrap()));

    let client = client_from("127.0.0.7");
    let plain = with_spoofs(client.get(format!("{}/health", nginx.url()))).send().await.unwrap();
    assert_eq!(plain.status(), 200, "nginx log:\n{}", nginx.error_log());
    assert!(
        plain.headers().get("strict-transport-security").is_none(),
        "`Forwarded: proto=https` / a client's X-Forwarded-Proto turned on HSTS over plain HTTP"
    );
    assert_eq!(plain.headers()["x-content-type-options"], "nosniff");

    // Control: the proxy's own X-Forwarded-Proto is believed.
    let terminated = client.get(format!("{}/terminated/health", nginx.url())).send().await.unwrap();
    assert_eq!(terminated.status(), 200);
    assert_eq!(terminated.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
}

#[tokio::test]
async fn an_x_real_ip_deployment_reads_x_real_ip_only() {
    let env = [("SECURE_API_DENY_IPS", "127.0.0.2"), ("SECURE_API_CLIENT_IP_HEADER", "x-real-ip")];
    let location = format!("{USUAL_HEADERS}\nproxy_set_header X-Real-IP $remote_addr;");
    let Some(nginx) = behind_nginx("proxy_nginx::x_real_ip", &env, &location).await else {
        return;
    };
    let url = format!("{}/health", nginx.url());
    let response = with_spoofs(client_from("127.0.0.2").get(&url)).send().await.unwrap();
    assert_eq!(response.status(), 403, "nginx log:\n{}", nginx.error_log());
    let response = with_spoofs(client_from("127.0.0.4").get(&url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn request_ids_come_from_the_proxy_only_when_configured() {
    let client_id = "chosen-by-the-client";
    // nginx passes the client's X-Request-Id through: by default it is never kept.
    let Some(nginx) = behind_nginx("proxy_nginx::request_id", &[], USUAL_HEADERS).await else {
        return;
    };
    let response =
        client_from("127.0.0.8").get(format!("{}/health", nginx.url())).header("x-request-id", client_id).send().await;
    let id = response.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, client_id);
    assert_eq!(id.len(), 36, "a generated UUID: {id}");

    // nginx overwrites it with its own `$request_id` and the operator opted in: kept.
    let location = format!("{USUAL_HEADERS}\nproxy_set_header X-Request-Id $request_id;");
    let env = [("SECURE_API_TRUST_REQUEST_ID", "1")];
    let Some(nginx) = behind_nginx("proxy_nginx::request_id", &env, &location).await else {
        return;
    };
    let response =
        client_from("127.0.0.8").get(format!("{}/health", nginx.url())).header("x-request-id", client_id).send().await;
    let id = response.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, client_id);
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "nginx's $request_id: {id}");
}
