//! The body parser and serde_json read a body the same way: no key that serde_json refuses is
//! taken as another spelling of a key (a duplicate the duplicate-key check cannot see), and no
//! number serde_json accepts for an `f32` is refused. Both were found by the property test in
//! `secure-api/src/validate/collect/proptests.rs`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use http::Request;
use secure_api::routing::post;
use secure_api::{SecureRouter, Security, public, request};
use serde_json::{Value, json};

use crate::common::{assert_problem, send};

#[request]
#[derive(Debug)]
struct Restock {
    /// Units per shelf number.
    #[validate(length(max = 10))]
    shelves: HashMap<u32, u32>,
    ratio: Option<f32>,
}

#[public(validate)]
async fn restock(Json(restock): Json<Restock>) -> Json<Value> {
    let mut shelves: Vec<(u32, u32)> = restock.shelves.into_iter().collect();
    shelves.sort_unstable();
    Json(json!({"shelves": shelves, "ratio": restock.ratio}))
}

fn app() -> secure_api::SecureApp {
    SecureRouter::new().route("/restock", post(restock)).with_state(Security::builder().build())
}

/// The body exactly as written (a `Value` could not hold a repeated key).
fn raw(body: &str) -> Request<Body> {
    Request::post("/restock").header("content-type", "application/json").body(Body::from(body.to_owned())).unwrap()
}

fn error_types(reply: &secure_api::testing::Reply) -> Vec<(Value, Value)> {
    assert_problem(reply, 422);
    let errors = reply.body["errors"].as_array().expect("errors").iter();
    errors.map(|error| (error["loc"].clone(), error["type"].clone())).collect()
}

#[tokio::test]
async fn an_integer_key_in_another_spelling_is_refused_not_merged() {
    let app = app();
    let reply = send(&app, raw(r#"{"shelves": {"1": 5, "2": 7}}"#)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!({"shelves": [[1, 5], [2, 7]], "ratio": null}));
    // The same key twice is refused by the parser...
    let reply = send(&app, raw(r#"{"shelves": {"1": 5, "1": 900}}"#)).await;
    assert_eq!(error_types(&reply), [(json!(["body", "shelves", "1"]), json!("duplicate_key"))]);
    // ...and so is the same shelf by another spelling, which used to pass as `{1: 900}`.
    for spelling in ["01", "+1", " 1", "1 ", "-0"] {
        let body = format!(r#"{{"shelves": {{"1": 5, "{spelling}": 900}}}}"#);
        let reply = send(&app, raw(&body)).await;
        assert_eq!(
            error_types(&reply),
            [(json!(["body", "shelves", spelling]), json!("int_parsing"))],
            "{spelling:?}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn f32_max_as_written_is_accepted_and_beyond_it_refused() {
    let app = app();
    let reply = send(&app, raw(r#"{"shelves": {}, "ratio": 3.4028235e38}"#)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // Written back as the shortest `f32` text, `3.4028235e38`: compare as an `f32`.
    assert_eq!(reply.body["ratio"].as_f64().map(|ratio| ratio as f32), Some(f32::MAX), "{reply:?}");
    let reply = send(&app, raw(r#"{"shelves": {}, "ratio": 3.5e38}"#)).await;
    assert_eq!(error_types(&reply), [(json!(["body", "ratio"]), json!("finite_number"))]);
}
