//! `SecureRouter`: the route inventory, nesting, and the app-wide responses.

use http::Method;
use secure_api::auth::AuthScheme;
use secure_api::routing;
use secure_api::{SecureRouter, Security, public, secure};

use crate::common::*;

/// method, path, public, auth schemes, scopes
type InventoryRow<'a> = (Method, &'a str, bool, Vec<AuthScheme>, Vec<&'static str>);

#[tokio::test]
async fn quickstart_inventory_records_every_route_and_policy() {
    let routes = secure_api_examples::quickstart::routes();
    let inventory: Vec<InventoryRow> = routes
        .routes()
        .iter()
        .map(|route| {
            (
                route.method.clone(),
                route.path.as_str(),
                route.policy.is_public(),
                route.policy.auth().to_vec(),
                route.policy.scopes().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        inventory,
        vec![
            (Method::GET, "/health", true, vec![], vec![]),
            (Method::POST, "/oauth/token", true, vec![], vec![]),
            (Method::GET, "/api/items", false, vec![AuthScheme::Bearer], vec!["items:read"]),
            (Method::POST, "/api/items", false, vec![AuthScheme::Bearer], vec!["items:write"]),
            (Method::GET, "/api/items/{id}", false, vec![AuthScheme::Bearer], vec!["items:read"]),
            (Method::GET, "/api/reports", false, vec![AuthScheme::ApiKey], vec![]),
            (Method::GET, "/api/account", false, vec![AuthScheme::Bearer], vec!["items:read"]),
            (Method::GET, "/.well-known/oauth-protected-resource", true, vec![], vec![]),
        ]
    );
    // Only the account route requires a sender-constrained token, and the inventory says so.
    let bound: Vec<&str> = routes
        .routes()
        .iter()
        .filter(|route| route.policy.requires_binding())
        .map(|route| route.path.as_str())
        .collect();
    assert_eq!(bound, ["/api/account"]);
    assert!(routes.routes()[2].policy.handler().ends_with("handlers::list_items"));
}

#[public]
async fn ping() -> &'static str {
    "pong"
}

#[secure(auth = "oauth", scopes = ["admin"])]
async fn admin_only() -> &'static str {
    "secret"
}

#[tokio::test]
async fn nested_and_merged_routes_keep_their_policies_and_prefix() {
    let inner = SecureRouter::<Security>::new().route("/admin", routing::get(admin_only));
    let router = SecureRouter::new().route("/ping", routing::get(ping)).nest("/v1", inner).merge(SecureRouter::new());
    let paths: Vec<&str> = router.routes().iter().map(|route| route.path.as_str()).collect();
    assert_eq!(paths, ["/ping", "/v1/admin"]);

    let app = router.with_state(Security::builder().build());
    let reply = send(&app, get("/ping", &[])).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "pong"));
    // The nested route is secured, and here no verifier is configured: fail closed.
    let reply = send(&app, get("/v1/admin", &[("authorization", "Bearer abc")])).await;
    assert_problem(&reply, 503);
    let reply = send(&app, get("/v1/admin", &[])).await;
    assert_problem(&reply, 401);
}

#[tokio::test]
async fn unknown_paths_are_404_problems_with_security_headers() {
    let reply = send(&app(), get("/nope", &[])).await;
    assert_problem(&reply, 404);
    assert_eq!(reply.header("x-frame-options"), "DENY");
    assert_eq!(reply.header("referrer-policy"), "no-referrer");
    assert!(reply.headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    assert!(reply.headers.get("server").is_none());
}

#[tokio::test]
async fn health_is_public_and_hardened() {
    let reply = send(&app(), get("/health", &[])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, serde_json::json!({"status": "ok"}));
    assert_eq!(reply.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
}
