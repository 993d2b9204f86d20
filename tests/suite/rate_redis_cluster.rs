//! The Redis store on a real three-master Redis Cluster started per test: two app instances
//! share one limit exactly, a route's gated check (client-IP gate + caller key in one script)
//! works because one route's keys share a slot, and the penalty box bans across instances.

use std::time::{Duration, Instant};

use secure_api::auth::ApiKeys;
use secure_api::rate::{PenaltyBox, RateLimits, RedisStore};
use secure_api::routing::get;
use secure_api::{SecureApp, SecureRouter, Security, public, secret::Secret, secure};
use secure_api_examples::quickstart::{self, Config};

use crate::common::{self, assert_problem, bearer, send, token};
use crate::rate_concurrency::{burst, serve};
use crate::support::from_peer;
use crate::support::redis::{RedisCluster, until_back_from_outage};

fn store(cluster: &RedisCluster, namespace: &str) -> RedisStore {
    let store = RedisStore::open(&cluster.url()).unwrap().namespace(namespace);
    assert!(store.is_cluster());
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_a_three_master_cluster_share_one_limit_exactly() {
    let Some(cluster) = RedisCluster::start("two_instances_on_a_three_master_cluster_share_one_limit_exactly") else {
        return;
    };
    let security = |namespace| Security::builder().rate_limits(RateLimits::redis(store(&cluster, namespace))).build();
    let first = serve(crate::rate_concurrency::app(security("cluster"))).await;
    let second = serve(crate::rate_concurrency::app(security("cluster"))).await;
    assert_eq!(burst(&[first, second], 80).await, (50, 30));
    // One key, hash-tagged by route, on one of the masters.
    let keys = cluster.keys("cluster:rl:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("cluster:rl:{") && keys[0].ends_with("::limited}:ip:127.0.0.1"), "{keys:?}");
    assert!(cluster.node_holding(&keys[0]).is_some());
}

fn quickstart_on(cluster: &RedisCluster) -> SecureApp {
    let config = Config { redis_url: Some(Secret::new(cluster.url())), ..common::config() };
    quickstart::app(&config).unwrap()
}

#[tokio::test]
async fn two_quickstart_instances_on_a_cluster_share_limits_and_the_failed_auth_gate() {
    let Some(cluster) =
        RedisCluster::start("two_quickstart_instances_on_a_cluster_share_limits_and_the_failed_auth_gate")
    else {
        return;
    };
    let instances = [quickstart_on(&cluster), quickstart_on(&cluster)];
    // `/api/items` counts the principal with the client IP as a gate: two keys in one script,
    // which a cluster runs only when both are on one slot (the route's hash tag).
    let auth = bearer(&token("items:read"));
    for n in 0..100u64 {
        let reply = send(&instances[(n % 2) as usize], common::get("/api/items", &[("authorization", &auth)])).await;
        assert_eq!(reply.status, 200, "request {n}: {reply:?}");
        assert_eq!(reply.header("ratelimit"), format!("\"100/15m\";r={};t={}", 99 - n, 9 * (n + 1)));
    }
    for instance in &instances {
        let reply = send(instance, common::get("/api/items", &[("authorization", &auth)])).await;
        assert_problem(&reply, 429);
    }
    failed_keys_from_one_address_close_the_route_on_both(&instances).await;
    let key = common::config().api_key.expose().clone();
    let accepted =
        send(&instances[1], from_peer(common::get("/api/reports", &[("x-api-key", &key)]), "203.0.113.10")).await;
    assert_eq!(accepted.status, 200);
    let keys = cluster.keys("secure-api-quickstart:rl:*");
    assert!(keys.iter().all(|name| name.starts_with("secure-api-quickstart:rl:{")), "{keys:?}");
}

/// Failed API keys from one address (203.0.113.9), spread over two quickstart instances that
/// share a store, close `/api/reports` to it: the failed-authentication gate is shared too.
/// The Cluster and the Sentinel tests both run it.
pub async fn failed_keys_from_one_address_close_the_route_on_both(instances: &[SecureApp; 2]) {
    let key = common::config().api_key.expose().clone();
    for n in 0..10 {
        let request = from_peer(common::get("/api/reports", &[("x-api-key", "wrong-key")]), "203.0.113.9");
        assert_eq!(send(&instances[n % 2], request).await.status, 401);
    }
    let refused =
        send(&instances[0], from_peer(common::get("/api/reports", &[("x-api-key", &key)]), "203.0.113.9")).await;
    assert_problem(&refused, 429);
}

#[secure(auth = "api_key")]
async fn reports() -> &'static str {
    "report"
}

#[public]
async fn search() -> &'static str {
    "results"
}

#[tokio::test]
async fn the_penalty_box_bans_across_instances_on_a_cluster() {
    let Some(cluster) = RedisCluster::start("the_penalty_box_bans_across_instances_on_a_cluster") else {
        return;
    };
    let app = || {
        let store = store(&cluster, "pb-cluster");
        let security = Security::builder()
            .api_keys(ApiKeys::new().with_key("cluster-test-key-0123456789abcdef", "client", ["r"]).unwrap())
            .rate_limits(RateLimits::redis(store.clone()))
            .penalty_box(PenaltyBox::new().failed_authentications(4).redis(store))
            .build();
        SecureRouter::new().route("/reports", get(reports)).route("/search", get(search)).with_state(security)
    };
    let instances = [app(), app()];
    for n in 0..4 {
        let request = from_peer(common::get("/reports", &[("x-api-key", "wrong")]), "203.0.113.7");
        assert_eq!(send(&instances[n % 2], request).await.status, 401);
    }
    for instance in &instances {
        let reply = send(instance, from_peer(common::get("/search", &[]), "203.0.113.7")).await;
        assert_problem(&reply, 429);
        assert_eq!(reply.body["type"], "urn:secure-api:problem:banned");
    }
    assert!(cluster.keys("pb-cluster:pb:*").contains(&"pb-cluster:pb:{203.0.113.7}:ban".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_stopped_mid_test_means_per_instance_limits_and_no_5xx() {
    let Some(mut cluster) = RedisCluster::start("a_master_stopped_mid_test_means_per_instance_limits_and_no_5xx")
    else {
        return;
    };
    let store = |namespace| {
        store(&cluster, namespace)
            .timeout(std::time::Duration::from_millis(200))
            .retry_interval(std::time::Duration::from_secs(60))
    };
    let app =
        crate::rate_concurrency::app(Security::builder().rate_limits(RateLimits::redis(store("failover"))).build());
    let addr = serve(app).await;
    assert_eq!(burst(&[addr], 10).await, (10, 0));
    let keys = cluster.keys("failover:rl:*");
    let holder = cluster.node_holding(&keys[0]).expect("a master holds the route's key");
    cluster.stop_node(holder);
    // The route's slot is gone: the instance limits in memory (its own fresh 50), never 5xx,
    // and the burst finishes in bounded time (one timeout, then no waiting for Redis).
    let started = std::time::Instant::now();
    assert_eq!(burst(&[addr], 80).await, (50, 30));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn the_quickstart_accepts_a_list_of_cluster_nodes_and_hides_their_passwords() {
    let url = "redis://:hunter2@127.0.0.1:7000, redis://:hunter2@127.0.0.1:7001,redis://:hunter2@127.0.0.1:7002";
    let loaded = Config::from_lookup(|name: &str| (name == "SECURE_API_REDIS_URL").then(|| url.to_owned())).unwrap();
    let printed = loaded.report.join("\n");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("redis://[credentials hidden]@127.0.0.1:7001"), "{printed}");
    assert!(printed.contains("Redis Cluster"), "{printed}");
    let bad =
        Config::from_lookup(|name: &str| (name == "SECURE_API_REDIS_URL").then(|| "redis://a:1,http://b".to_owned()));
    assert!(bad.is_err());
}

#[public(rate = "10/1h")]
async fn ten() -> &'static str {
    "ok"
}

/// Two app instances limiting `/ten`, each on its own store of `cluster` in `namespace`.
fn failover_instances(cluster: &RedisCluster, namespace: &str, timeout: Duration) -> (Vec<RedisStore>, Vec<SecureApp>) {
    let stores: Vec<RedisStore> =
        (0..2).map(|_| store(cluster, namespace).timeout(timeout).retry_interval(Duration::from_millis(200))).collect();
    let instances = stores
        .iter()
        .map(|store| {
            SecureRouter::new()
                .route("/ten", get(ten))
                .with_state(Security::builder().rate_limits(RateLimits::redis(store.clone())).build())
        })
        .collect();
    (stores, instances)
}

/// `requests` requests from `ip`, alternating between the instances, each answered without a
/// 5xx and within `max_wait`: how many were admitted.
async fn admitted(instances: &[SecureApp], ip: &str, requests: usize, max_wait: Duration) -> usize {
    let mut admitted = 0;
    for n in 0..requests {
        let asked = Instant::now();
        let reply = send(&instances[n % 2], from_peer(common::get("/ten", &[]), ip)).await;
        assert!(reply.status == 200 || reply.status == 429, "no 5xx: {reply:?}");
        assert!(asked.elapsed() < max_wait, "request {n} waited {:?}", asked.elapsed());
        admitted += usize::from(reply.status == 200);
    }
    admitted
}

/// A three-master cluster with one replica each: a master killed mid-test means per-instance
/// limits in memory and no 5xx; once the cluster has promoted its replica (held back until the
/// outage was measured), both instances find the new master by themselves and share the limit
/// exactly again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cluster_failover_two_instances_share_the_limit_exactly_again() {
    let Some(mut cluster) =
        RedisCluster::start_with_replicas("after_a_cluster_failover_two_instances_share_the_limit_exactly_again", 1)
    else {
        return;
    };
    let (stores, instances) = failover_instances(&cluster, "failover", Duration::from_millis(200));
    // No bound of interest on a request's wait here: a killed node refuses connections at once.
    let admit = |ip: &'static str, requests: usize| admitted(&instances, ip, requests, Duration::from_secs(30));

    assert_eq!(admit("192.0.2.40", 14).await, 10, "shared before the failover");
    let keys = cluster.keys("failover:rl:*");
    let holder = cluster.node_holding(&keys[0]).expect("a master holds the route's keys");
    cluster.stop_node(holder);

    // The route's slot has no master: each instance limits in memory (10 each), no 5xx.
    assert_eq!(admit("192.0.2.41", 24).await, 20, "per-instance limits during the outage");
    assert!(stores.iter().all(RedisStore::is_degraded));

    // Only now may the cluster promote the replica (so the outage above was a whole one).
    cluster.allow_failover();
    let took = cluster.wait_for_failover(holder, Duration::from_secs(30));
    eprintln!("the cluster promoted a replica {took:?} after failover was allowed");
    // Both stores probe again every 200 ms and follow the new slot map.
    let back = until_back_from_outage(&stores, Duration::from_secs(20), || admit("192.0.2.42", 2)).await;
    eprintln!("both instances were back on the cluster {back:?} after the promotion");
    assert_eq!(admit("192.0.2.43", 14).await, 10, "shared exactly again after the failover");
    let holder_now = cluster.node_holding(&cluster.keys("failover:rl:*")[0]);
    assert!(holder_now.is_some_and(|port| port != holder), "the promoted replica holds the keys: {holder_now:?}");
}

/// A master that stops answering without closing anything (`SIGSTOP`): each command waits at
/// most the store's timeout and the instances limit in memory, no request waits much longer,
/// none gets a 5xx; once the cluster has promoted the replica, both instances follow the new
/// slot map and share the limit exactly again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_that_stops_answering_times_out_then_the_promoted_replica_shares_the_limit() {
    let Some(cluster) = RedisCluster::start_with_replicas(
        "a_cluster_master_that_stops_answering_times_out_then_the_promoted_replica_shares_the_limit",
        1,
    ) else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let (stores, instances) = failover_instances(&cluster, "frozen", timeout);
    // Each request within a few timeouts: a hang would show here.
    let admit = |ip: &'static str, requests: usize| admitted(&instances, ip, requests, timeout * 6);

    assert_eq!(admit("192.0.2.44", 14).await, 10, "shared before the freeze");
    let holder = cluster.node_holding(&cluster.keys("frozen:rl:*")[0]).expect("a master holds the route's keys");
    cluster.allow_failover();
    cluster.freeze_node(holder);
    assert_eq!(admit("192.0.2.45", 2).await, 2);
    assert!(stores.iter().all(RedisStore::is_degraded), "the frozen master is an outage");

    let took = cluster.wait_for_failover(holder, Duration::from_secs(30));
    eprintln!("the cluster promoted a replica {took:?} after the master froze");
    let back = until_back_from_outage(&stores, Duration::from_secs(20), || admit("192.0.2.46", 2)).await;
    eprintln!("both instances were back on the cluster {back:?} after the promotion");
    assert_eq!(admit("192.0.2.47", 14).await, 10, "shared exactly again after the failover");
}
