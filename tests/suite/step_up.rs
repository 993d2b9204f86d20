//! Step-up authentication (RFC 9470): `#[secure(acr = [...], max_age = N)]` routes over the
//! quickstart's security state (HS256 JWTs, 60 s leeway, the verified-token cache), a DPoP-bound
//! route, introspected tokens, the audit outcome, the inventory, OpenAPI and the self-scan.

use secure_api::routing::get;
use secure_api::testing::{DpopKey, Probe, ScanCredentials, TokenFactory, Verdict, scan};
use secure_api::{SecureApp, SecureRouter, Security};
use secure_api_examples::quickstart;
use serde_json::{Value, json};

use crate::common::{self, Reply, assert_problem, bearer, send};

pub mod routes {
    use secure_api::{Principal, secure};

    #[secure(auth = "oauth", acr = ["urn:example:mfa", "phr"])]
    pub async fn strong(principal: Principal) -> String {
        principal.id().to_owned()
    }

    #[secure(auth = "oauth", max_age = 300)]
    pub async fn recent() -> &'static str {
        "recent"
    }

    #[secure(auth = "oauth", scopes = ["payments:write"], acr = ["phr"], max_age = 300)]
    pub async fn transfer() -> &'static str {
        "done"
    }

    #[secure(auth = "oauth", bound = "dpop", acr = ["phr"], max_age = 300)]
    pub async fn bound() -> &'static str {
        "bound"
    }

    #[secure(auth = "oauth", bound = "mtls", acr = ["phr"], max_age = 300)]
    pub async fn certified() -> &'static str {
        "certified"
    }
}

fn router() -> SecureRouter<Security> {
    SecureRouter::new()
        .route("/strong", get(routes::strong))
        .route("/recent", get(routes::recent))
        .route("/transfer", get(routes::transfer))
        .route("/bound", get(routes::bound))
        .route("/certified", get(routes::certified))
}

fn app() -> SecureApp {
    router().with_state(quickstart::security(&common::config()).expect("valid config"))
}

/// The quickstart's claims with `scope` and each of `extra` set (`null` removes the claim).
fn token(scope: &str, extra: Value) -> String {
    let mut claims = common::claims(scope);
    for (name, value) in extra.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            value => claims.as_object_mut().unwrap().insert(name.clone(), value.clone()),
        };
    }
    common::sign(&claims)
}

async fn call(app: &SecureApp, path: &str, token: &str) -> Reply {
    send(app, common::get(path, &[("authorization", &bearer(token))])).await
}

/// `Bearer realm="<the quickstart's realm>", error="insufficient_user_authentication", ...`.
fn challenge(description: &str, params: &str) -> String {
    format!(
        "Bearer realm=\"{}\", error=\"insufficient_user_authentication\", error_description=\"{description}\"{params}",
        common::config().audience
    )
}

const OTHER_LEVEL: &str = "A different authentication level is required.";
const MORE_RECENT: &str = "More recent authentication is required.";

/// 401 problem+json with exactly `expected` as the challenge.
fn assert_step_up(reply: &Reply, expected: &str) {
    assert_problem(reply, 401);
    assert_eq!(reply.header("www-authenticate"), expected, "{reply:?}");
    assert_eq!(reply.body["error"], "insufficient_user_authentication", "{reply:?}");
    assert_eq!(reply.headers.get_all("www-authenticate").iter().count(), 1);
}

#[tokio::test]
async fn an_accepted_acr_passes_and_any_other_is_401_naming_the_values() {
    let app = app();
    for acr in ["urn:example:mfa", "phr"] {
        let reply = call(&app, "/strong", &token("", json!({ "acr": acr }))).await;
        assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice"), "{acr}");
    }
    let expected = challenge(OTHER_LEVEL, ", acr_values=\"urn:example:mfa phr\"");
    for extra in [json!({"acr": "urn:example:pwd"}), json!({}), json!({"acr": ["phr"]}), json!({"acr": "PHR"})] {
        let reply = call(&app, "/strong", &token("", extra.clone())).await;
        assert_step_up(&reply, &expected);
        assert_eq!(reply.body["acr_values"], "urn:example:mfa phr", "{extra}");
        assert!(reply.body.get("max_age").is_none());
        assert_eq!(reply.body["detail"], OTHER_LEVEL);
    }
}

#[tokio::test]
async fn a_fresh_auth_time_passes_an_old_missing_or_future_one_is_401_with_max_age() {
    let app = app();
    let now = common::now();
    // 300 s plus the 60 s leeway.
    for auth_time in [now, now - 300, now - 350, now + 30] {
        let reply = call(&app, "/recent", &token("", json!({ "auth_time": auth_time }))).await;
        assert_eq!(reply.status, 200, "auth_time {} s ago: {reply:?}", now - auth_time);
    }
    let expected = challenge(MORE_RECENT, ", max_age=\"300\"");
    for extra in [
        json!({"auth_time": now - 400}),
        json!({"auth_time": now - 86_400}),
        json!({}),
        json!({"auth_time": "yesterday"}),
        json!({"auth_time": now + 600}),
    ] {
        let reply = call(&app, "/recent", &token("", extra.clone())).await;
        assert_step_up(&reply, &expected);
        assert_eq!(reply.body["max_age"], 300, "{extra}");
    }
}

#[tokio::test]
async fn both_requirements_together_and_the_scope_check_after_them() {
    let app = app();
    let now = common::now();
    let both = ", acr_values=\"phr\", max_age=\"300\"";
    let good = json!({"acr": "phr", "auth_time": now - 10});
    let strong = token("payments:write", good.clone());
    let reply = call(&app, "/transfer", &strong).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "done"));
    // The same token again: served by the verified-token cache, checked all the same.
    assert_eq!(call(&app, "/transfer", &strong).await.status, 200);
    let stale = token("payments:write", json!({"acr": "phr", "auth_time": now - 4000}));
    for _ in 0..2 {
        assert_step_up(&call(&app, "/transfer", &stale).await, &challenge(MORE_RECENT, both));
    }
    let weak = token("payments:write", json!({"acr": "pwd", "auth_time": now}));
    assert_step_up(&call(&app, "/transfer", &weak).await, &challenge(OTHER_LEVEL, both));
    // Step-up first: a token without the scope and too weak is told to step up, not forbidden.
    let weak_without_scope = token("items:read", json!({"acr": "pwd", "auth_time": now}));
    assert_step_up(&call(&app, "/transfer", &weak_without_scope).await, &challenge(OTHER_LEVEL, both));
    // Past step-up, the scope check still refuses.
    let reply = call(&app, "/transfer", &token("items:read", good)).await;
    assert_problem(&reply, 403);
    assert!(reply.header("www-authenticate").contains("error=\"insufficient_scope\""), "{reply:?}");
    // A bad token is still `invalid_token`, not a step-up.
    let reply = call(&app, "/transfer", "not-a-token").await;
    assert!(reply.header("www-authenticate").contains("error=\"invalid_token\""), "{reply:?}");
}

#[tokio::test]
async fn a_dpop_bound_token_is_challenged_with_dpop() {
    let app = app();
    let key = DpopKey::test_key();
    let now = common::now();
    let send_bound = |extra: Value| {
        let mut extra = extra;
        extra["cnf"] = json!({ "jkt": key.jkt() });
        let token = token("", extra);
        let proof = key.proof("GET", "http://api.test/bound", Some(&token));
        let authorization = format!("DPoP {token}");
        let request = common::get(
            "/bound",
            &[("host", "api.test"), ("authorization", authorization.as_str()), ("dpop", proof.as_str())],
        );
        send(&app, request)
    };
    let reply = send_bound(json!({"acr": "phr", "auth_time": now})).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = send_bound(json!({"acr": "phr", "auth_time": now - 4000})).await;
    assert_problem(&reply, 401);
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("DPoP algs=\""), "{challenge}");
    assert!(
        challenge.ends_with(
            ", error=\"insufficient_user_authentication\", error_description=\"More recent authentication is required.\", \
             acr_values=\"phr\", max_age=\"300\""
        ),
        "{challenge}"
    );
}

#[tokio::test]
async fn the_challenge_keeps_the_resource_metadata() {
    let config = quickstart::Config { resource_url: Some("https://api.example".to_owned()), ..common::config() };
    let app = router().with_state(quickstart::security(&config).expect("valid config"));
    let reply = call(&app, "/strong", &token("", json!({"acr": "pwd"}))).await;
    assert_step_up(
        &reply,
        &challenge(
            OTHER_LEVEL,
            ", acr_values=\"urn:example:mfa phr\", \
             resource_metadata=\"https://api.example/.well-known/oauth-protected-resource\"",
        ),
    );
}

#[tokio::test]
async fn introspected_tokens_carry_acr_and_auth_time_too() {
    use secure_api::auth::Introspector;

    use crate::idp_support::{INTROSPECTION_CLIENT, Idp};

    let idp = Idp::start(&[]).await;
    let now = common::now();
    let active = |acr: &str, auth_time: i64| {
        json!({"active": true, "sub": "alice", "aud": "items-api", "scope": "payments:write", "exp": now + 600,
               "acr": acr, "auth_time": auth_time})
    };
    idp.set_introspection("opaque-strong", active("phr", now - 5));
    idp.set_introspection("opaque-weak", active("pwd", now - 5));
    idp.set_introspection("opaque-stale", active("phr", now - 4000));
    let introspector = Introspector::builder(idp.introspection_url(), INTROSPECTION_CLIENT.0, INTROSPECTION_CLIENT.1)
        .audience("items-api")
        .build()
        .unwrap();
    let app = router().with_state(Security::builder().introspection(introspector).build());
    assert_eq!(call(&app, "/transfer", "opaque-strong").await.status, 200);
    for token in ["opaque-weak", "opaque-stale"] {
        let reply = call(&app, "/transfer", token).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("error=\"insufficient_user_authentication\""), "{reply:?}");
    }
}

#[test]
fn a_step_up_refusal_is_audited_with_its_own_outcome() {
    common::run_alone("step_up::a_step_up_refusal_is_audited_with_its_own_outcome_alone");
}

#[tokio::test]
#[ignore = "run in its own process by a_step_up_refusal_is_audited_with_its_own_outcome"]
async fn a_step_up_refusal_is_audited_with_its_own_outcome_alone() {
    let (captured, _guard) = common::capture_json();
    let app = app();
    assert_eq!(call(&app, "/strong", &token("", json!({"acr": "pwd"}))).await.status, 401);
    assert_eq!(call(&app, "/strong", &token("", json!({"acr": "phr"}))).await.status, 200);
    let lines = captured.audit_lines();
    let outcomes: Vec<&str> = lines.iter().map(|line| line["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["denied:insufficient_user_authentication", "allowed"]);
    assert_eq!(lines[0]["principal"], "alice", "the caller is known: only its login is too weak");
}

#[test]
fn the_inventory_and_openapi_show_the_requirements() {
    let routes = router();
    let inventory = secure_api::report::inventory(routes.routes());
    let auth = |path: &str| inventory.rows().iter().find(|row| row.path == path).unwrap().auth.clone();
    assert_eq!(auth("/strong"), "oauth +acr urn:example:mfa|phr");
    assert_eq!(auth("/recent"), "oauth +max_age 300s");
    assert_eq!(auth("/bound"), "oauth +bound dpop +acr phr +max_age 300s");

    let doc = secure_api::openapi::document("step-up", "1.0.0", routes.routes());
    assert_eq!(doc["paths"]["/strong"]["get"]["x-acr-values"], json!(["urn:example:mfa", "phr"]));
    assert!(doc["paths"]["/strong"]["get"].get("x-max-age").is_none());
    assert_eq!(doc["paths"]["/transfer"]["get"]["x-max-age"], 300);
    assert_eq!(doc["paths"]["/transfer"]["get"]["x-acr-values"], json!(["phr"]));
    crate::openapi::assert_valid_openapi(&doc);
}

fn credentials() -> ScanCredentials {
    let config = common::config();
    ScanCredentials::new(TokenFactory::hs256(config.jwt_secret.expose(), config.issuer.clone(), config.audience))
}

#[tokio::test]
async fn the_self_scan_probes_step_up_routes_and_finds_them_clean() {
    let routes = router();
    let recorded = routes.routes().to_vec();
    let app = routes.with_state(quickstart::security(&common::config()).expect("valid config"));
    let report = scan(&recorded, &app, &credentials()).await;
    report.assert_clean();
    let passed = |path: &str, probe: Probe| {
        report.rows().iter().any(|row| row.path == path && row.probe == probe && row.verdict == Verdict::Pass)
    };
    for path in ["/strong", "/transfer", "/bound", "/certified"] {
        assert!(passed(path, Probe::StepUpWrongAcr) && passed(path, Probe::StepUpMissingAcr), "{path}\n{report}");
        assert!(passed(path, Probe::ValidCredentials), "{path}: the scan's valid token steps up\n{report}");
    }
    for path in ["/recent", "/transfer", "/bound", "/certified"] {
        assert!(passed(path, Probe::StepUpStaleAuthTime), "{path}\n{report}");
        assert!(passed(path, Probe::StepUpMissingAuthTime), "{path}\n{report}");
    }
    assert!(passed("/transfer", Probe::InsufficientScope), "{report}");
    assert!(!report.rows().iter().any(|row| row.path == "/recent" && row.probe == Probe::StepUpWrongAcr));
}

/// A handler without the requirement, scanned as if it had one (an inventory that promises
/// more than the guard enforces): every step-up probe is a finding.
#[tokio::test]
async fn the_self_scan_finds_a_route_that_does_not_enforce_its_step_up() {
    use secure_api::policy::RoutePolicy;
    use secure_api::secure;

    #[secure(auth = "oauth")]
    async fn lax() -> &'static str {
        "lax"
    }

    const PROMISED: &[&str] = &["phr"];
    let routes = SecureRouter::new().route("/lax", get(lax));
    let mut recorded = routes.routes().to_vec();
    let policy: RoutePolicy = recorded[0].policy;
    recorded[0].policy = policy.with_acr_values(PROMISED).with_max_age(300);
    let app = routes.with_state(quickstart::security(&common::config()).expect("valid config"));
    let report = scan(&recorded, &app, &credentials()).await;
    for probe in
        [Probe::StepUpWrongAcr, Probe::StepUpMissingAcr, Probe::StepUpStaleAuthTime, Probe::StepUpMissingAuthTime]
    {
        let row = report.finding(&http::Method::GET, "/lax", probe).unwrap_or_else(|| panic!("{probe}\n{report}"));
        let Verdict::Finding(reasons) = &row.verdict else { unreachable!() };
        assert!(reasons.iter().any(|reason| reason.contains("expected 401")), "{reasons:?}");
    }
}
