//! `POST /api/items` of the quickstart: the request contract of DESIGN.md and the one error
//! format for every kind of input failure.

use axum::body::Body;
use http::Request;
use secure_api::audit::Outcome;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{self, Reply, assert_problem, bearer, post_json, send};

fn create(body: &Value) -> Request<Body> {
    post_json("/api/items", body, &[("authorization", &bearer(&common::token("items:write")))])
}

fn create_raw(content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/items")
        .header("authorization", bearer(&common::token("items:write")))
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

/// `(loc, type)` of every error, in the order sent.
fn errors(reply: &Reply) -> Vec<(Value, String)> {
    assert_problem(reply, 422);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:validation", "{reply:?}");
    reply.body["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|error| {
            // The documented shape: loc, msg, type, ctx, nothing else.
            let object = error.as_object().unwrap();
            assert_eq!(object.len(), 4, "{error}");
            assert!(error["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{error}");
            assert!(error["ctx"].is_object(), "{error}");
            (error["loc"].clone(), error["type"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn valid_item_is_created_with_201() {
    let app = common::app();
    let reply = send(&app, create(&json!({"name": "Widget", "price": 9.99}))).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body, json!({"id": 1, "name": "Widget", "price": 9.99}));
    let reply = send(&app, create(&json!({"name": "Gadget", "price": 1_000_000}))).await;
    assert_eq!(reply.body, json!({"id": 2, "name": "Gadget", "price": 1_000_000.0}));
}

#[tokio::test]
async fn unicode_names_are_accepted_and_counted_in_characters() {
    let app = common::app();
    for name in ["O'Brien", "José Ñúñez-Çağlar", "東京タワー", "Zoë 🚀", "Ελληνικά"] {
        let reply = send(&app, create(&json!({"name": name, "price": 1}))).await;
        assert_eq!(reply.status, 201, "{name}: {reply:?}");
        assert_eq!(reply.body["name"], name);
    }
    // 100 CJK characters are 300 bytes: the limit counts characters.
    let hundred = "語".repeat(100);
    assert_eq!(send(&app, create(&json!({"name": hundred, "price": 1}))).await.status, 201);
    let reply = send(&app, create(&json!({"name": "語".repeat(101), "price": 1}))).await;
    assert_eq!(errors(&reply), [(json!(["body", "name"]), "length".to_owned())]);
}

#[tokio::test]
async fn each_rule_failure_has_its_loc_msg_type_and_ctx() {
    let app = common::app();
    let reply = send(&app, create(&json!({"name": "", "price": 1}))).await;
    assert_eq!(
        reply.body["errors"],
        json!([{
            "loc": ["body", "name"],
            "msg": "Must be between 1 and 100 characters long",
            "type": "length",
            "ctx": {"min": 1, "max": 100}
        }])
    );
    let reply = send(&app, create(&json!({"name": "a", "price": 0}))).await;
    assert_eq!(
        reply.body["errors"],
        json!([{
            "loc": ["body", "price"],
            "msg": "Must be greater than 0 and at most 1000000",
            "type": "range",
            "ctx": {"exclusive_min": 0.0, "max": 1_000_000.0}
        }])
    );
    let reply = send(&app, create(&json!({"name": "a", "price": 1_000_000.01}))).await;
    assert_eq!(errors(&reply), [(json!(["body", "price"]), "range".to_owned())]);
    // The submitted value is never echoed back.
    assert!(!reply.text.contains("1000000.01"), "{}", reply.text);
}

#[tokio::test]
async fn model_errors_wrong_type_missing_and_unknown_fields() {
    let app = common::app();
    let reply = send(&app, create(&json!({"name": 42, "price": "cheap"}))).await;
    assert_eq!(
        errors(&reply),
        [(json!(["body", "name"]), "string_type".to_owned()), (json!(["body", "price"]), "float_type".to_owned())]
    );
    assert_eq!(reply.body["errors"][0]["msg"], "Input should be a string");

    let reply = send(&app, create(&json!({"price": 5}))).await;
    assert_eq!(errors(&reply), [(json!(["body", "name"]), "missing".to_owned())]);
    assert_eq!(reply.body["errors"][0]["msg"], "Field required");

    // Mass assignment (OWASP API3): fields the model does not declare are refused, all of them.
    let reply = send(&app, create(&json!({"name": "a", "price": 5, "id": 999, "owner": "mallory"}))).await;
    assert_eq!(
        errors(&reply),
        [(json!(["body", "id"]), "unknown_field".to_owned()), (json!(["body", "owner"]), "unknown_field".to_owned())]
    );

    let reply = send(&app, create(&json!(["name", "price"]))).await;
    assert_eq!(errors(&reply), [(json!(["body"]), "object_type".to_owned())]);
}

#[tokio::test]
async fn every_failing_field_is_reported_at_once() {
    let app = common::app();
    // A missing field, an unknown field and a rule failure in one body; then two rule failures.
    let reply = send(&app, create(&json!({"name": "", "isAdmin": true}))).await;
    assert_eq!(
        errors(&reply),
        [
            (json!(["body", "isAdmin"]), "unknown_field".to_owned()),
            (json!(["body", "name"]), "length".to_owned()),
            (json!(["body", "price"]), "missing".to_owned()),
        ]
    );
    assert_eq!(reply.body["detail"], "The body has 3 invalid fields; see `errors`.");
    let reply = send(&app, create(&json!({"name": "x".repeat(101), "price": -3}))).await;
    assert_eq!(
        errors(&reply),
        [(json!(["body", "name"]), "length".to_owned()), (json!(["body", "price"]), "range".to_owned())]
    );
}

#[tokio::test]
async fn unparseable_json_is_400_and_never_echoes_parser_internals() {
    let app = common::app();
    for body in
        [r#"{"name": "a", "price": }"#, r#"{"name": "a""#, "", "nul\u{0}l", r#"{"name": "a", "price": 1} trailing"#]
    {
        let reply = send(&app, create_raw("application/json", body.to_owned())).await;
        assert_problem(&reply, 400);
        assert_eq!(reply.body["type"], "urn:secure-api:problem:malformed-body");
        for internal in ["expected", "EOF", "u64", "f64", "struct"] {
            assert!(!reply.text.contains(internal), "{body:?} leaks `{internal}`: {}", reply.text);
        }
    }
}

#[tokio::test]
async fn non_finite_numbers_and_duplicate_keys_are_refused_with_their_loc() {
    let app = common::app();
    let reply = send(&app, create_raw("application/json", r#"{"name": "a", "price": 1e999}"#)).await;
    assert_eq!(errors(&reply), [(json!(["body", "price"]), "finite_number".to_owned())]);
    let reply = send(&app, create_raw("application/json", r#"{"name": "a", "price": 1, "price": 2}"#)).await;
    assert_eq!(errors(&reply), [(json!(["body", "price"]), "duplicate_key".to_owned())]);
}

#[tokio::test]
async fn json_nested_too_deeply_is_400() {
    let app = common::app();
    let deep = format!(r#"{{"name": "a", "price": 1, "x": {}{}}}"#, "[".repeat(40), "]".repeat(40));
    let reply = send(&app, create_raw("application/json", deep)).await;
    assert_problem(&reply, 400);
    assert!(reply.body["detail"].as_str().unwrap().contains("32 levels"), "{reply:?}");
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let app = common::app();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let reply = send(&app, create_raw(content_type, r#"{"name": "a", "price": 1}"#)).await;
        assert_problem(&reply, 415);
    }
    let no_type = Request::post("/api/items")
        .header("authorization", bearer(&common::token("items:write")))
        .body(Body::from(r#"{"name": "a", "price": 1}"#))
        .unwrap();
    assert_problem(&send(&app, no_type).await, 415);
    let reply = send(&app, create_raw("application/json; charset=utf-8", r#"{"name": "a", "price": 1}"#)).await;
    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn body_over_16_kib_is_413() {
    let app = common::app();
    let padding = " ".repeat(16 * 1024);
    let reply = send(&app, create_raw("application/json", format!(r#"{{"name": "a", "price": 1}}{padding}"#))).await;
    assert_problem(&reply, 413);
    assert_eq!(reply.body["max_bytes"], 16 * 1024);
    // Exactly at the limit is fine.
    let body = r#"{"name": "a", "price": 1}"#;
    let padded = format!("{body}{}", " ".repeat(16 * 1024 - body.len()));
    assert_eq!(send(&app, create_raw("application/json", padded)).await.status, 201);
}

#[tokio::test]
async fn rejections_are_audited_as_invalid_body() {
    let app = common::app();
    for request in [
        create(&json!({"name": ""})),
        create_raw("application/json", "{"),
        create_raw("text/plain", "x"),
        create_raw("application/json", " ".repeat(20_000)),
    ] {
        let request = secure_api::testing::with_peer(request, "127.0.0.1:40000".parse().unwrap());
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.extensions().get::<Outcome>(), Some(&Outcome::INVALID_BODY), "{}", response.status());
    }
}

#[tokio::test]
async fn path_parameters_are_validated_too() {
    let app = common::app();
    let read = bearer(&common::token("items:read"));
    let reply = send(&app, common::get("/api/items/abc", &[("authorization", &read)])).await;
    assert_eq!(errors(&reply), [(json!(["path", "id"]), "int_parsing".to_owned())]);
    assert_eq!(reply.body["errors"][0]["msg"], "Input should be a valid integer");
    let reply = send(&app, common::get("/api/items/-1", &[("authorization", &read)])).await;
    assert_eq!(errors(&reply), [(json!(["path", "id"]), "int_parsing".to_owned())]);
    let reply = send(&app, common::get("/api/items/7", &[("authorization", &read)])).await;
    assert_problem(&reply, 404);
}
