//! The penalty box over real requests: an address with too many failed authentications, threat
//! hits or 429s is refused on every route (429, `Retry-After`, `denied:banned`) until the ban
//! ends or an operator lifts it; other addresses, trusted proxies and allow-listed networks are
//! untouched; with Redis every instance sees the ban.

use std::time::Duration;

use secure_api::auth::ApiKeys;
use secure_api::rate::{PenaltyBox, RateLimits, RedisStore};
use secure_api::routing::get;
use secure_api::threat::{ThreatDetector, ThreatMode};
use secure_api::{SecureApp, SecureRouter, Security, client::TrustedProxies, public, secure};
use secure_api_examples::quickstart::{self, Config, PenaltySettings};

use crate::common::{self, Captured, assert_problem, bearer, send, token};
use crate::support::from_peer;
use crate::support::redis::RedisServer;

const ATTACKER: &str = "203.0.113.7";
const BYSTANDER: &str = "203.0.113.8";
const KEY: &str = "penalty-box-test-key-0123456789abcdef";

fn assert_banned(reply: &secure_api::testing::Reply, at_most_secs: u64) {
    assert_problem(reply, 429);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:banned", "{reply:?}");
    let retry_after: u64 = reply.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=at_most_secs).contains(&retry_after), "Retry-After {retry_after}");
}

#[tokio::test]
async fn twenty_failed_authentications_ban_the_address_on_every_route_of_the_quickstart() {
    // The quickstart's own defaults (the test configuration turns the penalty box off).
    assert_eq!(Config::from_lookup(|_| None).unwrap().config.penalty, PenaltySettings::default());
    let app = quickstart::app(&Config { penalty: PenaltySettings::default(), ..common::config() }).unwrap();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let bad = bearer(&common::sign_with(
        jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &common::claims("items:read"),
        b"not-the-quickstart-secret-not-the-quickstart-secret",
    ));
    for n in 1..=20 {
        let reply = send(&app, from_peer(common::get("/api/items", &[("authorization", &bad)]), ATTACKER)).await;
        assert_eq!(reply.status, 401, "failure {n}: {reply:?}");
        if n == 19 {
            // 19 failures: not banned yet, on any route.
            let health = send(&app, from_peer(common::get("/health", &[]), ATTACKER)).await;
            assert_eq!(health.status, 200, "{health:?}");
        }
    }
    // The 20th failure banned the address: routes it never touched, unknown paths and a valid
    // token are all refused for 5 minutes.
    let good = bearer(&token("items:read"));
    for request in [
        common::get("/health", &[]),
        common::get("/no-such-route", &[]),
        common::get("/api/items", &[("authorization", &good)]),
        common::get("/api/reports", &[("x-api-key", common::config().api_key.expose())]),
    ] {
        let reply = send(&app, from_peer(request, ATTACKER)).await;
        assert_banned(&reply, 300);
        assert!(reply.header("retry-after").parse::<u64>().unwrap() >= 299);
    }
    // Another address is not affected.
    let reply = send(&app, from_peer(common::get("/api/items", &[("authorization", &good)]), BYSTANDER)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let banned_lines = captured.audit_lines().into_iter().filter(|line| line["outcome"] == "denied:banned").count();
    assert_eq!(banned_lines, 4, "{}", captured.text());
    assert!(captured.text().contains("client address banned on every route"), "{}", captured.text());
}

#[tokio::test]
async fn requests_without_credentials_do_not_count_as_failed_authentications() {
    let app = quickstart::app(&Config { penalty: PenaltySettings::default(), ..common::config() }).unwrap();
    for _ in 0..25 {
        let reply = send(&app, from_peer(common::get("/api/items", &[]), ATTACKER)).await;
        assert_eq!(reply.status, 401);
    }
    assert_eq!(send(&app, from_peer(common::get("/health", &[]), ATTACKER)).await.status, 200);
}

#[tokio::test]
async fn the_quickstart_reads_and_prints_its_penalty_settings() {
    let variables = [
        ("SECURE_API_PENALTY_FAILED_AUTH", "3"),
        ("SECURE_API_PENALTY_THREATS", "2"),
        ("SECURE_API_PENALTY_BAN_SECS", "0.5"),
        ("SECURE_API_PENALTY_ALLOW", "198.51.100.0/24"),
    ];
    let lookup = |name: &str| variables.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned());
    let loaded = Config::from_lookup(lookup).unwrap();
    let printed = loaded.report.join("\n");
    for line in [
        "SECURE_API_PENALTY_FAILED_AUTH=3",
        "SECURE_API_PENALTY_THREATS=2",
        "SECURE_API_PENALTY_429S=0 (default: not counted)",
        "SECURE_API_PENALTY_WINDOW_SECS=60 (default)",
        "SECURE_API_PENALTY_BAN_SECS=0.5",
        "SECURE_API_PENALTY_ALLOW=198.51.100.0/24",
    ] {
        assert!(printed.contains(line), "{line} missing from:\n{printed}");
    }
    let app = quickstart::app(&loaded.config).unwrap();
    let bad = bearer("not-a-token");
    for address in [ATTACKER, "198.51.100.9"] {
        for _ in 0..3 {
            send(&app, from_peer(common::get("/api/items", &[("authorization", &bad)]), address)).await;
        }
    }
    assert_banned(&send(&app, from_peer(common::get("/health", &[]), ATTACKER)).await, 1);
    // The allow-listed address failed as often and is not banned.
    assert_eq!(send(&app, from_peer(common::get("/health", &[]), "198.51.100.9")).await.status, 200);
    // Half a second later the ban is over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(send(&app, from_peer(common::get("/health", &[]), ATTACKER)).await.status, 200);

    for bad_value in [("SECURE_API_PENALTY_FAILED_AUTH", "many"), ("SECURE_API_PENALTY_ALLOW", "10.0.0.0/99")] {
        let error = Config::from_lookup(|name: &str| (name == bad_value.0).then(|| bad_value.1.to_owned()));
        assert!(error.is_err(), "{bad_value:?} accepted");
    }
}

// A small app of its own, to reach the penalty box's operator API and every kind of offence.

#[secure(auth = "api_key")]
async fn reports() -> &'static str {
    "report"
}

#[public(rate = "2/1h")]
async fn scarce() -> &'static str {
    "ok"
}

#[public]
async fn search() -> &'static str {
    "results"
}

fn security(penalty: PenaltyBox) -> Security {
    Security::builder()
        .api_keys(ApiKeys::new().with_key(KEY, "reports-client", ["reports:read"]).unwrap())
        .threat_detection(ThreatDetector::new(ThreatMode::Block).unwrap())
        .trusted_proxies(TrustedProxies::parse("10.0.0.1").unwrap())
        .penalty_box(penalty)
        .build()
}

fn app(security: Security) -> SecureApp {
    SecureRouter::new()
        .route("/reports", get(reports))
        .route("/scarce", get(scarce))
        .route("/search", get(search))
        .with_state(security)
}

async fn fail_auth(app: &SecureApp, address: &str, times: usize) {
    for _ in 0..times {
        let reply = send(app, from_peer(common::get("/reports", &[("x-api-key", "wrong-key")]), address)).await;
        assert!(reply.status == 401 || reply.status == 429, "{reply:?}");
    }
}

async fn health(app: &SecureApp, address: &str) -> http::StatusCode {
    send(app, from_peer(common::get("/search", &[]), address)).await.status
}

#[tokio::test]
async fn an_operator_lifts_a_ban_through_the_api() {
    let security = security(PenaltyBox::new().failed_authentications(3));
    let app = app(security.clone());
    fail_auth(&app, ATTACKER, 3).await;
    assert_eq!(health(&app, ATTACKER).await, 429);
    let penalty = security.penalty_box().unwrap();
    assert!(penalty.banned(ATTACKER.parse().unwrap()).await.is_some());
    assert!(penalty.lift(ATTACKER.parse().unwrap()).await);
    assert_eq!(health(&app, ATTACKER).await, 200);
    // Lifting forgets the counts too: two more failures do not ban again.
    fail_auth(&app, ATTACKER, 2).await;
    assert_eq!(health(&app, ATTACKER).await, 200);
    assert!(!penalty.lift(BYSTANDER.parse().unwrap()).await);
}

#[tokio::test]
async fn threat_hits_and_rate_limit_refusals_ban_when_counted() {
    let app = app(security(PenaltyBox::new().failed_authentications(0).threat_hits(2).rate_limited(2)));
    for _ in 0..2 {
        let reply = send(&app, from_peer(common::get("/search?q=1'%20OR%201=1--", &[]), ATTACKER)).await;
        assert_eq!(reply.status, 403, "{reply:?}");
    }
    assert_banned(&send(&app, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);

    // `/scarce` allows 2 an hour: the 3rd and 4th are 429s, which ban.
    for expected in [200, 200, 429, 429] {
        assert_eq!(send(&app, from_peer(common::get("/scarce", &[]), BYSTANDER)).await.status, expected);
    }
    assert_banned(&send(&app, from_peer(common::get("/search", &[]), BYSTANDER)).await, 300);

    // Failed authentications are off here: any number of them bans nobody.
    fail_auth(&app, "203.0.113.9", 30).await;
    assert_eq!(health(&app, "203.0.113.9").await, 200);
}

#[tokio::test]
async fn trusted_proxies_and_allow_listed_networks_are_never_banned() {
    let app = app(security(PenaltyBox::new().failed_authentications(2).allow("192.0.2.0/24".parse().unwrap())));
    fail_auth(&app, "192.0.2.50", 10).await;
    assert_eq!(health(&app, "192.0.2.50").await, 200);
    // The trusted proxy itself (no forwarding header) is many clients: never banned.
    fail_auth(&app, "10.0.0.1", 10).await;
    assert_eq!(health(&app, "10.0.0.1").await, 200);
    // A client behind it is counted by its forwarded address and banned alone.
    for _ in 0..2 {
        let request = common::get("/reports", &[("x-api-key", "wrong"), ("x-forwarded-for", ATTACKER)]);
        assert_eq!(send(&app, from_peer(request, "10.0.0.1")).await.status, 401);
    }
    let behind = |client: &str| from_peer(common::get("/search", &[("x-forwarded-for", client)]), "10.0.0.1");
    assert_banned(&send(&app, behind(ATTACKER)).await, 300);
    assert_eq!(send(&app, behind(BYSTANDER)).await.status, 200);
    // And the direct address the attacker used before is as banned as its forwarded one.
    assert_banned(&send(&app, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);
}

#[tokio::test]
async fn a_ban_ends_after_its_cool_down_and_ipv6_is_banned_by_its_64() {
    let app = app(security(PenaltyBox::new().failed_authentications(2).ban_for(Duration::from_millis(300))));
    fail_auth(&app, "2001:db8:1:2::1", 2).await;
    // Another address of the same /64 is the same client.
    assert_banned(&send(&app, from_peer(common::get("/search", &[]), "2001:db8:1:2::ffff")).await, 1);
    assert_eq!(health(&app, "2001:db8:1:3::1").await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(health(&app, "2001:db8:1:2::1").await, 200);
}

fn redis_security(server: &RedisServer) -> Security {
    let store = RedisStore::open(&server.url()).unwrap().namespace("penalty");
    Security::builder()
        .api_keys(ApiKeys::new().with_key(KEY, "reports-client", ["reports:read"]).unwrap())
        .rate_limits(RateLimits::redis(store.clone()))
        .penalty_box(PenaltyBox::new().failed_authentications(4).redis(store))
        .build()
}

#[tokio::test]
async fn with_redis_a_ban_made_on_one_instance_refuses_the_client_on_every_instance() {
    let Some(server) = RedisServer::start("with_redis_a_ban_made_on_one_instance_refuses_the_client_on_every_instance")
    else {
        return;
    };
    let (first_security, second_security) = (redis_security(&server), redis_security(&server));
    let (first, second) = (app(first_security.clone()), app(second_security.clone()));
    // Two failures on each instance: four in all, which no instance saw alone.
    fail_auth(&first, ATTACKER, 2).await;
    fail_auth(&second, ATTACKER, 1).await;
    assert_eq!(health(&first, ATTACKER).await, 200);
    fail_auth(&second, ATTACKER, 1).await;
    assert_banned(&send(&first, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);
    assert_banned(&send(&second, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);
    assert_eq!(health(&first, BYSTANDER).await, 200);

    // The keys are namespaced, hash-tagged by client, and the ban expires with its cool-down.
    let ban_key = format!("penalty:pb:{{{ATTACKER}}}:ban");
    assert!(server.keys("penalty:pb:*").contains(&ban_key), "{:?}", server.keys("penalty:pb:*"));
    let ttl = server.pttl(&ban_key);
    assert!((290_000..=300_000).contains(&ttl), "{ttl}");

    // Lifted on one instance: lifted on both.
    assert!(second_security.penalty_box().unwrap().lift(ATTACKER.parse().unwrap()).await);
    assert_eq!(health(&first, ATTACKER).await, 200);
    assert_eq!(health(&second, ATTACKER).await, 200);
    assert!(server.keys("penalty:pb:*").is_empty(), "{:?}", server.keys("penalty:pb:*"));
}

#[tokio::test]
async fn with_redis_down_each_instance_still_bans_from_its_own_memory() {
    let Some(mut server) = RedisServer::start("with_redis_down_each_instance_still_bans_from_its_own_memory") else {
        return;
    };
    let app = app(redis_security(&server));
    server.stop();
    fail_auth(&app, ATTACKER, 4).await;
    assert_banned(&send(&app, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);
    assert_eq!(health(&app, BYSTANDER).await, 200);

    // Redis back, knowing nothing of that ban: the instance that made it still enforces it
    // (before, it asked Redis, heard "no ban", and served the banned client again).
    server.restart();
    // The store is talking to Redis again once another client's offence reaches it.
    // (One failure from each of other addresses: none of them gets banned meanwhile.)
    let started = std::time::Instant::now();
    for n in 1.. {
        fail_auth(&app, &format!("192.0.2.{n}"), 1).await;
        if !server.keys("penalty:pb:*").is_empty() {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the store never reached Redis again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        assert_banned(&send(&app, from_peer(common::get("/search", &[]), ATTACKER)).await, 300);
    }
    let attacker_ban = format!("penalty:pb:{{{ATTACKER}}}:ban");
    assert!(!server.keys("penalty:pb:*").contains(&attacker_ban), "the outage ban is this instance's alone");
    assert_eq!(health(&app, BYSTANDER).await, 200);
}
