//! `Authorization` (Bearer and Basic) and `X-API-Key` as the quickstart receives them: any bytes
//! are answered without a 5xx, and a forged credential never gets in.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use secure_api::SecureApp;
use secure_api_examples::quickstart::{self, Config};
use tower::ServiceExt;

fn app() -> &'static (SecureApp, tokio::runtime::Runtime) {
    static APP: OnceLock<(SecureApp, tokio::runtime::Runtime)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        (quickstart::app(&Config::for_tests()).expect("test config"), runtime)
    })
}

/// A fresh client address per request, so rate limits never hide the parsers.
fn peer() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let [_, a, b, c] = NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    SocketAddr::from(([10, a, b, c], 40000))
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let (app, runtime) = app();
    let requests = [
        Request::get("/api/items").header("authorization", value.clone()).body(Body::empty()),
        Request::get("/api/reports").header("x-api-key", value.clone()).body(Body::empty()),
        Request::post("/oauth/token")
            .header("authorization", value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials")),
    ];
    for (index, request) in requests.into_iter().enumerate() {
        let mut request = request.expect("valid request");
        request.extensions_mut().insert(ConnectInfo(peer()));
        let response = runtime.block_on(app.clone().oneshot(request)).expect("infallible");
        assert!(!response.status().is_server_error(), "{}", response.status());
        if index < 2 {
            assert!(!response.status().is_success(), "forged credential accepted");
        }
    }
});
