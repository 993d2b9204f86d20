//! Cost of pipeline step 6 per request, against plain `axum::Json` on the same body.
//!
//! Both sides run as extractors on a fresh request (`FromRequest::from_request`), which is what
//! a handler pays: the body is read from an in-memory `Body`, parsed, and turned into the type.
//! The validated side also checks the body limit and media type, builds a `Value` (duplicate
//! keys, depth, finite numbers), deserializes while tracking locations, and runs the rules.
//!
//! Run: `cargo bench -p secure-api --bench validation`

use std::hint::black_box;

use axum::Json;
use axum::body::Body;
use axum::extract::FromRequest;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::Request;
use secure_api::validate::Validated;
use secure_api::{Security, policy::Policy, policy::RoutePolicy, request};

/// The quickstart's `NewItem`.
#[request]
struct NewItem {
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    price: f64,
}

/// The same shape for plain axum.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainItem {
    name: String,
    price: f64,
}

#[request]
struct Line {
    #[validate(length(min = 1, max = 20))]
    sku: String,
    #[validate(range(min = 1, max = 99))]
    quantity: u32,
    #[validate(range(exclusive_min = 0.0))]
    unit_price: f64,
}

/// A larger body: 20 nested lines.
#[request]
struct Order {
    #[validate(length(min = 1, max = 100))]
    customer: String,
    #[validate(email, length(max = 254))]
    email: String,
    #[validate(length(min = 1, max = 50))]
    lines: Vec<Line>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainLine {
    sku: String,
    quantity: u32,
    unit_price: f64,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainOrder {
    customer: String,
    email: String,
    lines: Vec<PlainLine>,
}

struct BenchPolicy;

impl Policy for BenchPolicy {
    const POLICY: RoutePolicy = RoutePolicy::public("bench::create").with_max_body(16 * 1024);
}

fn request(body: &'static str) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap()
}

/// The extractor futures complete without waiting (the body is in memory).
fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    future.now_or_never().expect("in-memory body is ready")
}

fn order_body() -> &'static str {
    let lines: Vec<String> = (0..20)
        .map(|index| format!(r#"{{"sku": "SKU-{index:04}", "quantity": {}, "unit_price": 12.5}}"#, index % 9 + 1))
        .collect();
    let body = format!(
        r#"{{"customer": "Siobhán O'Brien", "email": "siobhan@example.com", "lines": [{}]}}"#,
        lines.join(", ")
    );
    Box::leak(body.into_boxed_str())
}

fn benches(c: &mut Criterion) {
    let security = Security::builder().build();
    let item = r#"{"name": "Widget", "price": 9.99}"#;
    let order = order_body();
    let invalid_item = r#"{"name": "", "price": -1, "owner": "mallory"}"#;

    let mut group = c.benchmark_group("validation/item");
    group.bench_function("axum_json", |b| {
        b.iter(|| black_box(ready(Json::<PlainItem>::from_request(request(item), &())).is_ok()))
    });
    group.bench_function("validated_json", |b| {
        b.iter(|| {
            let extracted = ready(Validated::<Json<NewItem>, BenchPolicy>::from_request(request(item), &security));
            black_box(extracted.is_ok())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("validation/order_20_lines");
    group.bench_function("axum_json", |b| {
        b.iter(|| black_box(ready(Json::<PlainOrder>::from_request(request(order), &())).is_ok()))
    });
    group.bench_function("validated_json", |b| {
        b.iter(|| {
            let extracted = ready(Validated::<Json<Order>, BenchPolicy>::from_request(request(order), &security));
            black_box(extracted.is_ok())
        })
    });
    group.finish();

    // The error path: three failures collected into one 422 (axum stops at the first).
    let mut group = c.benchmark_group("validation/invalid_item");
    group.bench_function("axum_json", |b| {
        b.iter(|| black_box(ready(Json::<PlainItem>::from_request(request(invalid_item), &())).is_err()))
    });
    group.bench_function("validated_json", |b| {
        b.iter(|| {
            let extracted =
                ready(Validated::<Json<NewItem>, BenchPolicy>::from_request(request(invalid_item), &security));
            black_box(extracted.is_err())
        })
    });
    group.finish();
}

criterion_group!(validation, benches);
criterion_main!(validation);
