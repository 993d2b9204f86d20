//! Several limits on one route (`rate = ["4/1h", "2/1s"]`) and per-tenant quotas
//! (`key = "claim:tenant_id"`), over real requests: every limit enforced, a refusal by one
//! limit consuming none of the others, the IETF RateLimit fields listing every policy and
//! reporting the one closest to exhaustion, and tenants counted apart with a fallback to the
//! principal. The same sequence runs against Redis in `rate_redis.rs`.

use std::time::Duration;

use secure_api::SecureApp;
use secure_api::auth::{JwtVerifier, VerificationKey};
use secure_api::report::inventory;
use secure_api::routing::get;
use secure_api::{SecureRouter, Security, public, secure};
use serde_json::{Value, json};

use crate::common::{self, assert_problem, bearer, send};

/// The hourly limit is declared first: a limiter that counted limits in order until one
/// refuses would charge it for every refusal of the per-second limit.
#[public(rate = ["4/1h", "2/1s"])]
async fn search() -> &'static str {
    "found"
}

/// Counted per tenant; tokens without `tenant_id` per principal.
#[secure(auth = "oauth", rate = "2/1h", key = "claim:tenant_id")]
async fn tenant_report() -> &'static str {
    "report"
}

fn routes() -> SecureRouter<Security> {
    SecureRouter::new().route("/search", get(search)).route("/report", get(tenant_report))
}

/// The app's security with the quickstart's token rules.
pub(crate) fn security(builder: secure_api::SecurityBuilder) -> Security {
    let config = common::config();
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(config.jwt_secret.expose().as_bytes()).unwrap())
        .issuer(config.issuer.clone())
        .audience(config.audience.clone())
        .build()
        .unwrap();
    builder.realm(config.audience).jwt(verifier).build()
}

pub(crate) fn app(security: Security) -> SecureApp {
    routes().with_state(security)
}

const POLICY: &str = "\"4/1h\";q=4;w=3600, \"2/1s\";q=2;w=1";

/// Both limits over real requests; `app` is fresh (in memory or on an empty Redis namespace).
pub(crate) async fn both_limits_hold_and_a_refusal_consumes_neither(app: &SecureApp) {
    let search = || send(app, common::get("/search", &[]));
    // 2/1s is the closer to exhaustion (1 then 0 left, against 3 then 2 of 4/1h).
    for left in [1, 0] {
        let reply = search().await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("ratelimit-policy"), POLICY);
        assert_eq!(reply.header("ratelimit"), format!("\"2/1s\";r={left};t=1"));
    }
    // Refused by 2/1s, many times: none of these may count against 4/1h.
    for _ in 0..6 {
        let reply = search().await;
        assert_problem(&reply, 429);
        assert_eq!(reply.header("retry-after"), "1");
        assert_eq!(reply.header("ratelimit-policy"), POLICY);
        assert_eq!(reply.header("ratelimit"), "\"2/1s\";r=0;t=1");
    }
    // A second later 2/1s has its burst back, and 4/1h still has exactly 2 of 4.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for left in [1, 0] {
        let reply = search().await;
        assert_eq!(reply.status, 200, "{reply:?}");
        // A tie on what is left goes to the limit that takes longer to come back: 4/1h.
        let limit = reply.header("ratelimit");
        assert!(limit.starts_with(&format!("\"4/1h\";r={left};t=")), "{limit}");
    }
    // Now 4/1h refuses: one request per 900 s, so about 900 s to wait (not 2/1s's 1 s).
    let reply = search().await;
    assert_problem(&reply, 429);
    let retry_after: u64 = reply.header("retry-after").parse().unwrap();
    assert!((895..=900).contains(&retry_after), "{reply:?}");
    let limit = reply.header("ratelimit");
    assert!(limit.starts_with("\"4/1h\";r=0;t="), "{limit}");
    assert_eq!(reply.header("ratelimit-policy"), POLICY);
}

#[tokio::test]
async fn both_limits_hold_in_memory_and_a_refusal_consumes_neither() {
    let app = app(security(Security::builder()));
    both_limits_hold_and_a_refusal_consumes_neither(&app).await;
}

/// A token of the quickstart's issuer for `sub`, with `extra` claims.
pub(crate) fn token_for(sub: &str, extra: &Value) -> String {
    let mut claims = common::claims("items:read");
    claims["sub"] = json!(sub);
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        claims.extend(extra.clone());
    }
    bearer(&common::sign(&claims))
}

/// Two callers of one tenant share its quota, another tenant has its own, and tokens without
/// the claim (or with a non-string one) are counted by principal.
pub(crate) async fn tenants_are_counted_apart_with_a_principal_fallback(app: &SecureApp) {
    let status = |authorization: String| async move {
        let reply = send(app, common::get("/report", &[("authorization", &authorization)])).await;
        if reply.status == 429 {
            assert_problem(&reply, 429);
            assert_eq!(reply.header("ratelimit-policy"), "\"2/1h\";q=2;w=3600");
        }
        reply.status.as_u16()
    };
    let acme = json!({ "tenant_id": "acme" });
    assert_eq!(status(token_for("alice", &acme)).await, 200);
    assert_eq!(status(token_for("bob", &acme)).await, 200);
    // acme's quota is used up, by two different principals, and a third is refused too.
    assert_eq!(status(token_for("alice", &acme)).await, 429);
    assert_eq!(status(token_for("carol", &acme)).await, 429);
    // Another tenant, even with a principal of acme's, has its own quota.
    let globex = json!({ "tenant_id": "globex" });
    assert_eq!(status(token_for("alice", &globex)).await, 200);
    assert_eq!(status(token_for("alice", &globex)).await, 200);
    assert_eq!(status(token_for("alice", &globex)).await, 429);
    // No claim: counted by principal, each principal apart, apart from any tenant.
    for sub in ["dave", "erin"] {
        assert_eq!(status(token_for(sub, &json!({}))).await, 200);
        assert_eq!(status(token_for(sub, &json!({}))).await, 200);
        assert_eq!(status(token_for(sub, &json!({}))).await, 429);
    }
    // A principal named like a tenant is not that tenant.
    assert_eq!(status(token_for("acme", &json!({}))).await, 200);
    // A non-string claim is no tenant: the principal.
    assert_eq!(status(token_for("frank", &json!({ "tenant_id": ["acme"] }))).await, 200);
    assert_eq!(status(token_for("frank", &json!({ "tenant_id": 7 }))).await, 200);
    assert_eq!(status(token_for("frank", &json!({}))).await, 429);
}

#[tokio::test]
async fn tenants_are_counted_apart_in_memory_with_a_principal_fallback() {
    let app = app(security(Security::builder()));
    tenants_are_counted_apart_with_a_principal_fallback(&app).await;
}

#[tokio::test]
async fn failed_authentication_on_a_tenant_route_still_counts_per_client_ip() {
    let app = app(security(Security::builder()));
    let bad = bearer("not-a-token");
    for _ in 0..2 {
        let reply = send(&app, common::get("/report", &[("authorization", &bad)])).await;
        assert_problem(&reply, 401);
    }
    // The client IP used up the route's quota guessing: even a valid tenant token is refused.
    let reply =
        send(&app, common::get("/report", &[("authorization", &token_for("zoe", &json!({"tenant_id": "initech"})))]))
            .await;
    assert_problem(&reply, 429);
}

#[test]
fn the_inventory_shows_every_limit_and_the_claim_key_with_its_fallback() {
    let routes = routes();
    let inventory = inventory(routes.routes());
    let rate = |path: &str| {
        inventory.rows().iter().find(|row| row.path == path).map(|row| row.rate.clone()).expect("route listed")
    };
    assert_eq!(rate("/search"), "4/1h + 2/1s");
    assert_eq!(rate("/report"), "2/1h per claim:tenant_id (else principal)");
    assert!(inventory.to_string().contains("per claim:tenant_id (else principal)"), "{inventory}");
}
