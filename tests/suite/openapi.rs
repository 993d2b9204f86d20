//! The quickstart's OpenAPI document, generated from the same recorded policies the guards
//! enforce: every route with its security, its parameters, its request schema and the
//! responses its policy can send; checked by the real `openapi-spec-validator` (PyPI).

use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::Json;
use secure_api::openapi::{API_KEY_SCHEME, BEARER_SCHEME, document};
use secure_api::routing::post;
use secure_api::{SecureRouter, Security, secure};
use secure_api_examples::quickstart;
use serde_json::{Value, json};

use crate::common::{self, assert_problem, bearer, post_json, send};

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

/// The statuses an operation documents, sorted.
fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
    let responses = doc["paths"][path][method]["responses"].as_object().expect("responses listed");
    responses.keys().cloned().collect()
}

#[test]
fn each_operation_lists_the_rejections_its_policy_can_send() {
    let doc = quickstart::openapi();
    // Authenticated, scoped, rate-limited, validated body.
    assert_eq!(statuses(&doc, "/api/items", "post"), ["2XX", "400", "401", "403", "413", "415", "422", "429", "503"]);
    // No body: no 413/415; no validated input: no 422.
    assert_eq!(statuses(&doc, "/api/items", "get"), ["2XX", "400", "401", "403", "429", "503"]);
    // A path parameter can fail its type: 422.
    assert!(statuses(&doc, "/api/items/{id}", "get").contains(&"422".to_owned()));
    // Public: no 401, no 503 from an identity provider; no rate: no 429.
    let health = statuses(&doc, "/health", "get");
    assert!(!health.contains(&"401".to_owned()) && !health.contains(&"429".to_owned()), "{health:?}");

    let post = &doc["paths"]["/api/items"]["post"]["responses"];
    assert!(post["401"]["headers"]["WWW-Authenticate"].is_object());
    assert!(post["403"]["headers"]["WWW-Authenticate"].is_object(), "scoped: insufficient_scope challenge");
    for header in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
        assert!(post["429"]["headers"][header].is_object(), "429 lacks {header}");
    }
    assert!(post["2XX"]["headers"]["RateLimit"].is_object(), "successes of a limited route carry RateLimit");
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    for status in ["400", "401", "403", "413", "415", "422", "429", "503"] {
        assert_eq!(post[status]["content"]["application/problem+json"]["schema"], problem, "{status}");
    }
    assert_eq!(doc["components"]["schemas"]["Problem"]["required"], json!(["type", "title", "status"]));
    // The API-key route challenges too, and has no scopes to name.
    let reports = &doc["paths"]["/api/reports"]["get"]["responses"];
    assert!(reports["401"]["headers"]["WWW-Authenticate"].is_object());
    // The token endpoint (`errors = "oauth"`) answers its own refusals per RFC 6749 §5.2; its
    // rate limit is still the layer's problem.
    let token = &doc["paths"]["/oauth/token"]["post"]["responses"];
    let oauth = json!({"$ref": "#/components/schemas/OAuthError"});
    for status in ["400", "401"] {
        assert_eq!(token[status]["content"]["application/json"]["schema"], oauth, "{status}");
    }
    assert!(token["401"]["headers"]["WWW-Authenticate"].is_object());
    assert_eq!(token["429"]["content"]["application/problem+json"]["schema"], problem);
    assert_eq!(doc["components"]["schemas"]["OAuthError"]["required"], json!(["error"]));
}

#[test]
fn path_parameters_come_from_the_route_pattern() {
    let doc = quickstart::openapi();
    assert_eq!(
        doc["paths"]["/api/items/{id}"]["get"]["parameters"],
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
    );
    assert!(doc["paths"]["/api/items"]["get"]["parameters"].is_null());
}

#[tokio::test]
async fn the_documented_rules_of_new_item_are_the_enforced_ones() {
    let doc = quickstart::openapi();
    let body = &doc["paths"]["/api/items"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(body["content"]["application/json"]["schema"], json!({"$ref": "#/components/schemas/NewItem"}));
    let schema = &doc["components"]["schemas"]["NewItem"];
    assert_eq!(
        *schema,
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "1 to 100 characters."},
                "price": {
                    "type": "number",
                    "format": "double",
                    "exclusiveMinimum": 0.0,
                    "maximum": 1_000_000.0,
                    "description": "Greater than 0, at most 1 000 000."
                }
            },
            "required": ["name", "price"],
            "additionalProperties": false
        })
    );

    // What the document says is what the route does, at each documented bound.
    let app = common::app();
    let auth = bearer(&common::token("items:write"));
    let max = schema["properties"]["name"]["maxLength"].as_u64().expect("a number") as usize;
    let create = |body: Value| post_json("/api/items", &body, &[("authorization", auth.as_str())]);
    let reply = send(&app, create(json!({"name": "x".repeat(max), "price": 1_000_000.0}))).await;
    assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    let reply = send(&app, create(json!({"name": "x".repeat(max + 1), "price": 1.0}))).await;
    assert_problem(&reply, 422);
    let reply = send(&app, create(json!({"name": "", "price": 1.0}))).await;
    assert_problem(&reply, 422);
    let reply = send(&app, create(json!({"name": "x", "price": 0.0}))).await;
    assert_problem(&reply, 422);
    let reply = send(&app, create(json!({"name": "x", "price": 1.0, "admin": true}))).await;
    assert_problem(&reply, 422);
}

/// A request type using every documented rule, nested types, renames and an enum.
mod orders {
    use std::sync::LazyLock;

    pub static SKU: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new("^[A-Z]{3}-[0-9]{4}$").unwrap());
    pub const MAX_LINES: u64 = 50;

    #[secure_api::request]
    #[serde(rename_all = "camelCase")]
    pub struct NewOrder {
        #[validate(email, length(max = 254))]
        pub contact_email: String,
        #[validate(length(min = 1, max = MAX_LINES))]
        pub line_items: Vec<LineItem>,
        pub shipping: Option<Address>,
        pub channel: Channel,
        #[serde(default)]
        #[validate(length(max = 5))]
        pub tags: std::collections::BTreeSet<u8>,
    }

    #[secure_api::request]
    pub struct LineItem {
        #[validate(regex(path = *SKU), length(max = 8))]
        pub sku: String,
        #[validate(range(min = 1, max = 999))]
        pub quantity: u32,
        #[serde(rename = "note")]
        #[validate(length(max = 200))]
        pub comment: Option<String>,
    }

    #[secure_api::request]
    pub struct Address {
        #[validate(length(min = 2, max = 2))]
        pub country: String,
    }

    #[secure_api::request]
    #[serde(rename_all = "snake_case")]
    pub enum Channel {
        WebShop,
        Phone,
    }
}

#[secure(auth = "oauth", scopes = ["orders:write"], validate)]
async fn create_order(Json(order): Json<orders::NewOrder>) -> String {
    order.contact_email
}

#[test]
fn request_schemas_carry_the_rules_of_request_types() {
    let routes: SecureRouter<Security> = SecureRouter::new().route("/orders", post(create_order));
    let doc = document("orders", "1", routes.routes());
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        doc["paths"]["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewOrder"
    );
    let order = &schemas["NewOrder"];
    assert_eq!(
        order["required"],
        json!(["contactEmail", "lineItems", "channel"]),
        "serde names; Option/default optional"
    );
    let properties = &order["properties"];
    assert_eq!(properties["contactEmail"], json!({"type": "string", "format": "email", "maxLength": 254}));
    assert_eq!(
        properties["lineItems"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/LineItem"}, "minItems": 1, "maxItems": 50})
    );
    assert_eq!(properties["shipping"], json!({"anyOf": [{"$ref": "#/components/schemas/Address"}, {"type": "null"}]}));
    assert_eq!(properties["channel"], json!({"$ref": "#/components/schemas/Channel"}));
    assert_eq!(
        properties["tags"],
        json!({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "uniqueItems": true, "maxItems": 5})
    );
    let line = &schemas["LineItem"];
    assert_eq!(line["properties"]["sku"]["pattern"], "^[A-Z]{3}-[0-9]{4}$");
    assert_eq!(line["properties"]["quantity"], json!({"type": "integer", "minimum": 1, "maximum": 999}));
    assert_eq!(line["properties"]["note"], json!({"type": ["string", "null"], "maxLength": 200}));
    assert_eq!(line["required"], json!(["sku", "quantity"]));
    assert_eq!(schemas["Address"]["properties"]["country"]["minLength"], 2);
    assert_eq!(schemas["Channel"], json!({"type": "string", "enum": ["web_shop", "phone"]}));
    assert_valid_openapi(&doc);
}

/// Runs `openapi-spec-validator` (PyPI) on `document`: `Ok(())` when it accepts it, the
/// validator's message when it refuses, `None` when the validator is not installed.
fn spec_validator(document: &Value) -> Option<Result<(), String>> {
    const SCRIPT: &str = "import json, sys\n\
        from openapi_spec_validator import validate\n\
        validate(json.load(sys.stdin))\n";
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python).args(["-c", "import openapi_spec_validator"]).output();
    if !probe.is_ok_and(|output| output.status.success()) {
        return None;
    }
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().expect("stdin piped").write_all(document.to_string().as_bytes()).expect("document written");
    let output = child.wait_with_output().expect("the validator finishes");
    Some(if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) })
}

/// Fails when the validator refuses `document`; skips (loudly) when it is not installed,
/// unless `SECURE_API_REQUIRE_OPENAPI_VALIDATOR=1` (CI) makes its absence a failure.
pub(crate) fn assert_valid_openapi(document: &Value) {
    match spec_validator(document) {
        Some(Ok(())) => {}
        Some(Err(message)) => panic!("openapi-spec-validator refuses the document:\n{message}\n{document:#}"),
        None if std::env::var("SECURE_API_REQUIRE_OPENAPI_VALIDATOR").as_deref() == Ok("1") => {
            panic!("openapi-spec-validator is required: pip install openapi-spec-validator")
        }
        None => eprintln!("SKIPPED: openapi-spec-validator is not installed (pip install openapi-spec-validator)"),
    }
}

#[test]
fn the_quickstart_document_passes_openapi_spec_validator() {
    let doc = quickstart::openapi();
    assert_valid_openapi(&doc);

    // The validator is real and strict: the two defects of the old document are refused.
    if spec_validator(&doc).is_none() {
        return;
    }
    let mut unresolved = doc.clone();
    if let Some(operation) = unresolved["paths"]["/api/items/{id}"]["get"].as_object_mut() {
        operation.remove("parameters");
    }
    assert!(matches!(spec_validator(&unresolved), Some(Err(_))), "a path parameter without a definition passes");
    let mut empty = doc.clone();
    empty["paths"]["/health"]["get"]["responses"] = json!({});
    assert!(matches!(spec_validator(&empty), Some(Err(_))), "an operation without responses passes");
}
