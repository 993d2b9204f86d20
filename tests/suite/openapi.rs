//! The quickstart's OpenAPI security, generated from the same recorded policies the guards
//! enforce: every route appears with its requirement.

use secure_api::openapi::{API_KEY_SCHEME, BEARER_SCHEME, document};
use secure_api_examples::quickstart;
use serde_json::{Value, json};

#[test]
fn every_quickstart_route_appears_with_its_security_requirement() {
    let routes = quickstart::routes();
    let doc = serde_json::to_value(document("quickstart", "0.1.0", routes.routes())).expect("serialises");
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes[BEARER_SCHEME], json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}));
    assert_eq!(schemes[API_KEY_SCHEME], json!({"type": "apiKey", "in": "header", "name": "x-api-key"}));

    for route in routes.routes() {
        let operation = &doc["paths"][&route.path][route.method.as_str().to_ascii_lowercase()];
        assert!(operation.is_object(), "{} {} missing", route.method, route.path);
        let security = operation["security"].as_array().expect("security listed");
        if route.policy.is_public() {
            assert!(security.is_empty(), "{} {}: {security:?}", route.method, route.path);
        } else {
            assert_eq!(security.len(), route.policy.auth().len());
        }
    }
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/api/items", "post"), json!([{ BEARER_SCHEME: ["items:write"] }]));
    assert_eq!(security("/api/items/{id}", "get"), json!([{ BEARER_SCHEME: ["items:read"] }]));
    assert_eq!(security("/api/reports", "get"), json!([{ API_KEY_SCHEME: [] }]));
    assert_eq!(security("/health", "get"), Value::Array(Vec::new()));
}
