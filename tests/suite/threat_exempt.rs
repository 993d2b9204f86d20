//! Per-field threat exemptions, end to end: a route that stores rich text exempts
//! `body.description` from the XSS rules with `#[public(..., threat(exempt(xss = [...])))]`;
//! markup in that field is served, everything else is still inspected.

use axum::Json;
use secure_api::routing::post;
use secure_api::threat::{ThreatDetector, ThreatMode};
use secure_api::{SecureRouter, Security, public, request};
use serde_json::json;

use crate::common::{assert_problem, post_json, send};

#[request]
struct Product {
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[validate(length(max = 5000))]
    description: String,
}

#[public(validate, threat(exempt(xss = ["body.description"])))]
async fn save_rich_product(Json(product): Json<Product>) -> String {
    product.description
}

#[public(validate)]
async fn save_product(Json(product): Json<Product>) -> String {
    product.description
}

fn app() -> SecureRouter<Security> {
    SecureRouter::new().route("/rich", post(save_rich_product)).route("/plain", post(save_product))
}

#[tokio::test]
async fn an_exempt_field_takes_markup_and_everything_else_is_still_inspected() {
    let security = Security::builder().threat_detection(ThreatDetector::new(ThreatMode::Block).unwrap()).build();
    let app = app().with_state(security);
    let markup = r#"<p onclick="track('buy')">Soft <b>leather</b></p><img src=x onerror=alert(1)>"#;
    let rich = json!({"name": "Boots", "description": markup});

    let reply = send(&app, post_json("/rich", &rich, &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text, markup);

    // The same body on a route without the exemption is refused.
    let reply = send(&app, post_json("/plain", &rich, &[])).await;
    assert_problem(&reply, 403);
    assert!(reply.body["rule"].as_str().unwrap().starts_with("xss-"), "{reply:?}");

    // Other families still inspect the exempt field.
    let sqli = json!({"name": "Boots", "description": "x' UNION SELECT password FROM users--"});
    let reply = send(&app, post_json("/rich", &sqli, &[])).await;
    assert_problem(&reply, 403);
    assert!(reply.body["rule"].as_str().unwrap().starts_with("sqli-"), "{reply:?}");

    // And the other fields are not exempt.
    let name = json!({"name": "<script>alert(1)</script>", "description": "plain"});
    assert_problem(&send(&app, post_json("/rich", &name, &[])).await, 403);
}

#[test]
fn the_exemption_is_recorded_in_the_route_policy() {
    let router = app();
    let routes = router.routes();
    let rich = routes.iter().find(|route| route.path == "/rich").unwrap();
    let exemptions = rich.policy.threat_exemptions();
    assert_eq!(exemptions.len(), 1);
    assert_eq!(exemptions[0].field(), "body.description");
    assert_eq!(exemptions[0].families(), [secure_api::threat::ThreatFamily::Xss]);
}
