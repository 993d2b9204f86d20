//! The Redis store through Redis Sentinel, on a real deployment started per test (a master, a
//! replica, three sentinels): two app instances share one limit exactly; a master killed
//! mid-test means per-instance limits and no 5xx; once the sentinels have promoted the
//! replica, the stores find it by themselves and the shared limit holds again. The quickstart
//! takes the `redis+sentinel://` URL, and its penalty box and DPoP replay cache share the store.

use std::time::{Duration, Instant};

use secure_api::rate::{RateLimits, RedisStore};
use secure_api::routing::get;
use secure_api::{SecureApp, SecureRouter, Security, public, secret::Secret};
use secure_api_examples::quickstart::{self, Config, PenaltySettings};

use crate::common::{self, assert_problem, send};
use crate::support::from_peer;
use crate::support::redis::until_back_from_outage;
use crate::support::sentinel::RedisSentinels;

#[public(rate = "5/1m")]
async fn five() -> &'static str {
    "ok"
}

fn store(deployment: &RedisSentinels, namespace: &str) -> RedisStore {
    let store = RedisStore::open(&deployment.url()).unwrap().namespace(namespace);
    assert!(store.is_sentinel() && !store.is_cluster());
    store
}

/// One app instance: its own `Security`, its own store (own sentinel and master connections).
fn instance(store: &RedisStore) -> SecureApp {
    SecureRouter::new()
        .route("/five", get(five))
        .with_state(Security::builder().rate_limits(RateLimits::redis(store.clone())).build())
}

async fn status(instance: &SecureApp, client_ip: &str) -> u16 {
    send(instance, from_peer(common::get("/five", &[]), client_ip)).await.status.as_u16()
}

/// 3 requests on the first instance and 2 on the second pass; the next is refused on both.
async fn assert_one_shared_limit(instances: &[SecureApp; 2], client_ip: &str) {
    for n in 0..5 {
        let on = if n < 3 { 0 } else { 1 };
        assert_eq!(status(&instances[on], client_ip).await, 200, "request {n} (instance {on}) from {client_ip}");
    }
    for (on, instance) in instances.iter().enumerate() {
        let reply = send(instance, from_peer(common::get("/five", &[]), client_ip)).await;
        assert_problem(&reply, 429);
        assert!(reply.header("retry-after").parse::<u64>().is_ok_and(|seconds| seconds >= 1), "instance {on}");
    }
}

/// One request from `client_ip` on each instance: answered without a 5xx, within `max_wait`.
async fn probe_both(instances: &[SecureApp; 2], client_ip: &str, max_wait: Duration) {
    for instance in instances {
        let asked = Instant::now();
        let status = status(instance, client_ip).await;
        assert!(status == 200 || status == 429, "no 5xx: {status}");
        assert!(asked.elapsed() < max_wait, "a request waited {:?}", asked.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_through_sentinel_share_one_limit_exactly() {
    let Some(deployment) = RedisSentinels::start("two_instances_through_sentinel_share_one_limit_exactly") else {
        return;
    };
    // A generous timeout: a loaded CI machine is not what is tested here.
    let stores = [(); 2].map(|()| store(&deployment, "sentinel-shared").timeout(Duration::from_secs(2)));
    let instances = stores.each_ref().map(instance);
    assert_one_shared_limit(&instances, "192.0.2.10").await;
    assert!(stores.iter().all(|store| !store.is_degraded()));
    // The state is on the master the sentinels named, under the single-server key names.
    let keys = deployment.keys_on(deployment.first_master_port(), "sentinel-shared:rl:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("::five:ip:192.0.2.10") && !keys[0].contains('{'), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_means_per_instance_limits_then_the_promoted_replica_shares_them_again() {
    let Some(mut deployment) =
        RedisSentinels::start("a_killed_master_means_per_instance_limits_then_the_promoted_replica_shares_them_again")
    else {
        return;
    };
    // A generous timeout, and a short retry interval so the outage ends soon after failover.
    let stores = [(); 2].map(|()| {
        store(&deployment, "sentinel-failover")
            .timeout(Duration::from_secs(2))
            .retry_interval(Duration::from_millis(250))
    });
    let instances = stores.each_ref().map(instance);
    assert_one_shared_limit(&instances, "192.0.2.11").await;

    // The master dies. Sentinel needs at least a second to notice, so the stores cannot find
    // a master now: each instance limits in memory, on its own (5 each for a new client),
    // and every request is answered.
    deployment.kill_master();
    let mut statuses = Vec::new();
    for n in 0..12 {
        statuses.push(status(&instances[n % 2], "192.0.2.12").await);
    }
    assert!(stores.iter().all(RedisStore::is_degraded), "the lost master is an outage");
    assert_eq!(statuses, [[200; 10].as_slice(), &[429; 2]].concat(), "per-instance limits, no 5xx: {statuses:?}");

    // The sentinels promote the replica; both stores ask them again (once per retry interval)
    // until they find it. Every request meanwhile is answered, never with a 5xx.
    let probe = || probe_both(&instances, "192.0.2.12", Duration::from_secs(30));
    let back = until_back_from_outage(&stores, Duration::from_secs(30), probe).await;
    eprintln!("both stores on the promoted replica {back:?} after the master was killed");
    assert_eq!(deployment.role(deployment.replica_port()).as_deref(), Some("master"));

    // The shared limit holds again, on the promoted replica.
    assert_one_shared_limit(&instances, "192.0.2.13").await;
    let keys = deployment.keys_on(deployment.replica_port(), "sentinel-failover:rl:*");
    assert!(keys.iter().any(|key| key.ends_with(":ip:192.0.2.13")), "{keys:?}");
}

/// A master that stops answering without closing anything (`SIGSTOP`: a partition or a frozen
/// host): each command waits at most the store's timeout, then the instance limits in memory;
/// the timed-out connection is forgotten, so once the sentinels have promoted the replica the
/// stores find it and the shared limit holds again. No request waits much longer than the
/// timeout, and none gets a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_stops_answering_times_out_into_memory_then_the_promoted_replica_shares_the_limit() {
    let Some(deployment) = RedisSentinels::start(
        "a_master_that_stops_answering_times_out_into_memory_then_the_promoted_replica_shares_the_limit",
    ) else {
        return;
    };
    let timeout = Duration::from_millis(500);
    let stores = [(); 2]
        .map(|()| store(&deployment, "sentinel-frozen").timeout(timeout).retry_interval(Duration::from_millis(250)));
    let instances = stores.each_ref().map(instance);
    assert_one_shared_limit(&instances, "192.0.2.16").await;

    deployment.freeze_master();
    // One request on each instance: it waits for the timeout, then is decided in memory. (The
    // sentinels need more than a second to notice, so both are still in the outage after.)
    for instance in &instances {
        let started = Instant::now();
        assert_eq!(status(instance, "192.0.2.17").await, 200);
        let waited = started.elapsed();
        // The timeout, plus room for a loaded machine; a hang would be the client's own timeout.
        assert!(waited >= timeout && waited < timeout * 6, "waited {waited:?}");
    }
    assert!(stores.iter().all(RedisStore::is_degraded), "the frozen master is an outage");

    let probe = || probe_both(&instances, "192.0.2.17", timeout * 6);
    let back = until_back_from_outage(&stores, Duration::from_secs(30), probe).await;
    eprintln!("both stores on the promoted replica {back:?} after the master froze");
    assert_eq!(deployment.role(deployment.replica_port()).as_deref(), Some("master"));
    assert_one_shared_limit(&instances, "192.0.2.18").await;
    let keys = deployment.keys_on(deployment.replica_port(), "sentinel-frozen:rl:*");
    assert!(keys.iter().any(|key| key.ends_with(":ip:192.0.2.18")), "{keys:?}");
}

/// The first sentinel of the URL accepts connections and answers nothing (`SIGSTOP`) from the
/// start: asking it gives up within the store's timeout and the next sentinels name the master,
/// so two instances still share the limit exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sentinel_that_answers_nothing_is_passed_over() {
    let Some(deployment) = RedisSentinels::start("a_first_sentinel_that_answers_nothing_is_passed_over") else {
        return;
    };
    deployment.freeze_first_sentinel();
    let timeout = Duration::from_millis(500);
    let stores = [(); 2]
        .map(|()| store(&deployment, "sentinel-hung").timeout(timeout).retry_interval(Duration::from_millis(250)));
    let instances = stores.each_ref().map(instance);
    // The first request of each instance may meet the hung sentinel within its timeout and be
    // decided in memory; after that, the instances share the master.
    let started = Instant::now();
    let probe = || probe_both(&instances, "192.0.2.19", timeout * 6);
    probe().await;
    until_back_from_outage(&stores, Duration::from_secs(20), probe).await;
    eprintln!("both stores on the master {:?} with the first sentinel hung", started.elapsed());
    assert_one_shared_limit(&instances, "192.0.2.20").await;
    let keys = deployment.keys_on(deployment.first_master_port(), "sentinel-hung:rl:*");
    assert!(keys.iter().any(|key| key.ends_with(":ip:192.0.2.20")), "{keys:?}");
}

/// A manual failover keeps the old master running until the sentinels demote it. Demoted, it
/// closes its clients' connections (redis-server 7.0: the stores' next command meets "broken
/// pipe"; a server that answered `READONLY` instead is handled the same way, see the unit tests
/// of `rate/redis/sentinel.rs`). The store asks the sentinels again and retries at once, so
/// the shared limit holds on the new master with no outage at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_manual_failover_the_demoted_master_sends_both_instances_to_the_new_one() {
    let Some(deployment) =
        RedisSentinels::start("after_a_manual_failover_the_demoted_master_sends_both_instances_to_the_new_one")
    else {
        return;
    };
    // A generous timeout, and a retry interval longer than the test: an outage, once declared,
    // would last until the end and show.
    let stores = [(); 2].map(|()| {
        store(&deployment, "sentinel-demoted").timeout(Duration::from_secs(2)).retry_interval(Duration::from_secs(60))
    });
    let instances = stores.each_ref().map(instance);
    assert_one_shared_limit(&instances, "192.0.2.14").await;

    deployment.manual_failover();
    let (old_master, promoted) = (deployment.first_master_port(), deployment.replica_port());
    deployment.wait_for("the old master is demoted and the replica promoted", Duration::from_secs(60), |_| {
        deployment.role(old_master).as_deref() == Some("slave")
            && deployment.role(promoted).as_deref() == Some("master")
    });
    assert_one_shared_limit(&instances, "192.0.2.15").await;
    assert!(stores.iter().all(|store| !store.is_degraded()), "the demotion was not an outage");
    let keys = deployment.keys_on(promoted, "sentinel-demoted:rl:*");
    assert!(keys.iter().any(|key| key.ends_with(":ip:192.0.2.15")), "{keys:?}");
}

/// The quickstart on the sentinel URL, with its default penalty box (20 failed
/// authentications in a minute ban an address for 5 minutes).
fn quickstart_on(deployment: &RedisSentinels) -> SecureApp {
    let config = Config {
        redis_url: Some(Secret::new(deployment.url())),
        penalty: PenaltySettings::default(),
        ..common::config()
    };
    quickstart::app(&config).unwrap()
}

/// The quickstart's store is opened from the sentinel URL; the failed-authentication gate
/// and the penalty box use it as the limits do.
#[tokio::test]
async fn two_quickstart_instances_through_sentinel_share_limits_the_failed_auth_gate_and_bans() {
    let Some(deployment) =
        RedisSentinels::start("two_quickstart_instances_through_sentinel_share_limits_the_failed_auth_gate_and_bans")
    else {
        return;
    };
    let instances = [quickstart_on(&deployment), quickstart_on(&deployment)];
    let key = common::config().api_key.expose().clone();
    let reports = |n: usize| send(&instances[n % 2], common::get("/api/reports", &[("x-api-key", &key)]));
    for n in 0..10 {
        assert_eq!(reports(n).await.status, 200, "request {n}");
    }
    for n in 0..2 {
        assert_problem(&reports(n).await, 429);
    }
    crate::rate_redis_cluster::failed_keys_from_one_address_close_the_route_on_both(&instances).await;
    // 20 failed authentications from one address, 10 on each instance, ban it on both, on
    // every route: neither instance counted 20 itself, so the count and the ban are shared.
    for n in 0..20 {
        let request = from_peer(common::get("/api/items", &[("authorization", "Bearer wrong")]), "203.0.113.20");
        assert_eq!(send(&instances[n % 2], request).await.status, 401, "attempt {n}");
    }
    for instance in &instances {
        let reply = send(instance, from_peer(common::get("/health", &[]), "203.0.113.20")).await;
        assert_problem(&reply, 429);
        assert_eq!(reply.body["type"], "urn:secure-api:problem:banned");
    }
    let keys = deployment.keys_on(deployment.first_master_port(), "secure-api-quickstart:*");
    assert!(keys.iter().any(|name| name.ends_with(":ip:203.0.113.9")), "{keys:?}");
    assert!(keys.contains(&"secure-api-quickstart:pb:{203.0.113.20}:ban".to_owned()), "{keys:?}");
}

/// The DPoP replay cache: a proof used on one quickstart instance is refused on the other.
#[tokio::test]
async fn a_dpop_proof_used_on_one_instance_is_refused_on_another_through_sentinel() {
    let Some(deployment) =
        RedisSentinels::start("a_dpop_proof_used_on_one_instance_is_refused_on_another_through_sentinel")
    else {
        return;
    };
    crate::dpop::a_proof_used_on_one_instance_is_refused_on_another(&deployment.url()).await;
}

#[test]
fn the_quickstart_accepts_a_sentinel_url_and_hides_its_password() {
    let url = "redis+sentinel://:hunter2@127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/mymaster/0";
    let loaded = Config::from_lookup(|name: &str| (name == "SECURE_API_REDIS_URL").then(|| url.to_owned())).unwrap();
    let printed = loaded.report.join("\n");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        printed.contains(
            "redis+sentinel://[credentials hidden]@127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/mymaster/0"
        ),
        "{printed}"
    );
    assert!(printed.contains("Redis Sentinel"), "{printed}");
    let bad = Config::from_lookup(|name: &str| {
        (name == "SECURE_API_REDIS_URL").then(|| "redis+sentinel://:hunter2@127.0.0.1:26379".to_owned())
    });
    let error = bad.err().expect("a sentinel URL without a master name is refused").to_string();
    assert!(!error.contains("hunter2"), "{error}");
}
