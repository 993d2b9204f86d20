//! A JSON body on a validated route (`json::parse`, then the collecting deserializer, then the
//! rules): any bytes are answered without a 5xx, and a body is only ever accepted when
//! serde_json reads the same model from it. The two parsers never disagree in the accepting
//! direction (the unit-level property is `secure-api/src/validate/collect/proptests.rs`).
#![no_main]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Json;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::Request;
use libfuzzer_sys::fuzz_target;
use secure_api::routing::post;
use secure_api::{SecureApp, SecureRouter, Security, public, request};
use tower::ServiceExt;

#[request]
#[derive(Debug)]
#[serde(rename_all = "camelCase")]
struct Order {
    #[validate(length(max = 64))]
    item_name: String,
    count: Option<u8>,
    price: Option<f64>,
    ratio: Option<f32>,
    big: Option<i64>,
    #[validate(length(max = 8))]
    tags: Option<Vec<String>>,
    #[validate(length(max = 8))]
    shelves: Option<BTreeMap<u32, bool>>,
    line: Option<Line>,
    kind: Option<Kind>,
}

#[request]
#[derive(Debug)]
struct Line {
    #[validate(length(max = 16))]
    sku: String,
    qty: u32,
}

#[request]
#[derive(Debug)]
enum Kind {
    Retail,
    Bulk,
}

/// Answers with the model as the handler received it.
#[public(validate)]
async fn order(Json(order): Json<Order>) -> String {
    format!("{order:?}")
}

fn app() -> &'static (SecureApp, tokio::runtime::Runtime) {
    static APP: OnceLock<(SecureApp, tokio::runtime::Runtime)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let app = SecureRouter::new().route("/order", post(order)).with_state(Security::builder().build());
        (app, runtime)
    })
}

fuzz_target!(|data: &[u8]| {
    let (app, runtime) = app();
    let mut request = Request::post("/order")
        .header("content-type", "application/json")
        .body(Body::from(data.to_vec()))
        .expect("valid request");
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = runtime.block_on(app.clone().oneshot(request)).expect("infallible");
    let status = response.status();
    assert!(!status.is_server_error(), "{status}");
    if status.is_success() {
        let body = runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("body");
        let theirs = serde_json::from_slice::<Order>(data);
        assert!(theirs.is_ok(), "accepted a body serde_json refuses: {:?}", String::from_utf8_lossy(data));
        let theirs = theirs.map(|order| format!("{order:?}")).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&body), theirs, "built another model than serde_json");
    }
});
