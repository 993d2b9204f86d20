//! Request types beyond the quickstart: nested types, lists, optional fields, enums, renamed
//! fields, and validated `Query`, `Path` and `Form` inputs.

use axum::extract::{Path, Query};
use axum::{Form, Json};
use http::Request;
use secure_api::SecureApp;
use secure_api::routing::{get, post};
use secure_api::{SecureRouter, Security, public, request};
use serde_json::{Value, json};

use crate::common::{Reply, assert_problem, get as get_request, post_json, send};

#[request]
#[derive(Debug)]
struct Address {
    #[validate(length(min = 1, max = 50))]
    city: String,
    #[validate(length(equal = 2))]
    country: String,
}

#[request]
#[derive(Debug)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    #[validate(length(min = 1, max = 20))]
    sku: String,
    #[validate(range(min = 1, max = 99))]
    quantity: u32,
    #[validate(range(exclusive_min = 0.0))]
    unit_price: f64,
}

#[request]
#[derive(Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Channel {
    Web,
    Phone,
}

#[request]
#[derive(Debug)]
#[serde(rename_all = "camelCase")]
struct Order {
    #[validate(length(min = 1, max = 100))]
    customer_name: String,
    #[validate(email, length(max = 254))]
    email: Option<String>,
    shipping: Address,
    billing: Option<Address>,
    #[validate(length(min = 1, max = 10))]
    items: Vec<LineItem>,
    channel: Channel,
    #[validate(length(max = 5))]
    tags: Option<Vec<String>>,
}

#[public(validate)]
async fn create_order(Json(order): Json<Order>) -> Json<Value> {
    Json(json!({
        "customer": order.customer_name,
        "items": order.items.len(),
        "billing": order.billing.is_some(),
        "phone": order.channel == Channel::Phone,
        "email": order.email,
        "tags": order.tags.map(|tags| tags.len()),
        "city": order.shipping.city,
    }))
}

#[request]
#[derive(Debug)]
struct Search {
    #[validate(length(min = 1, max = 50))]
    q: String,
    #[validate(range(min = 1, max = 100))]
    page: Option<u32>,
    exact: Option<bool>,
}

#[public(validate)]
async fn search(Query(search): Query<Search>) -> Json<Value> {
    Json(json!({"q": search.q, "page": search.page, "exact": search.exact}))
}

#[public(validate)]
async fn order_line(Path((order, line)): Path<(u64, u32)>) -> Json<Value> {
    Json(json!({"order": order, "line": line}))
}

#[request]
#[derive(Debug)]
struct Login {
    #[validate(length(min = 1, max = 64))]
    username: String,
    #[validate(length(min = 8, max = 128))]
    password: String,
}

#[public(validate, max_body = "1KiB")]
async fn login(Form(login): Form<Login>) -> Json<Value> {
    Json(json!({"user": login.username, "password_chars": login.password.chars().count()}))
}

/// Inputs taken unchecked, visibly.
#[public(validate = false)]
async fn echo(Json(value): Json<Value>) -> Json<Value> {
    Json(value)
}

fn app() -> SecureApp {
    SecureRouter::new()
        .route("/orders", post(create_order))
        .route("/search", get(search))
        .route("/orders/{order}/lines/{line}", get(order_line))
        .route("/login", post(login))
        .route("/echo", post(echo))
        .with_state(Security::builder().build())
}

fn errors(reply: &Reply) -> Vec<(Value, String)> {
    assert_problem(reply, 422);
    reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| (error["loc"].clone(), error["type"].as_str().unwrap().to_owned()))
        .collect()
}

fn error(loc: Value, kind: &str) -> (Value, String) {
    (loc, kind.to_owned())
}

fn valid_order() -> Value {
    json!({
        "customerName": "Siobhán O'Brien",
        "shipping": {"city": "Zürich", "country": "CH"},
        "items": [{"sku": "A-1", "quantity": 2, "unitPrice": 9.5}],
        "channel": "web"
    })
}

#[tokio::test]
async fn valid_nested_order_with_optional_fields_absent_or_present() {
    let app = app();
    let reply = send(&app, post_json("/orders", &valid_order(), &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["customer"], "Siobhán O'Brien");
    assert_eq!(reply.body["billing"], false);

    let mut full = valid_order();
    full["email"] = json!("siobhan@example.com");
    full["billing"] = json!({"city": "東京", "country": "JP"});
    full["tags"] = json!(["gift"]);
    full["channel"] = json!("phone");
    let reply = send(&app, post_json("/orders", &full, &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({
            "customer": "Siobhán O'Brien", "items": 1, "billing": true, "phone": true,
            "email": "siobhan@example.com", "tags": 1, "city": "Zürich"
        })
    );
    // `null` for an optional field is the same as leaving it out.
    let mut nulls = valid_order();
    nulls["email"] = Value::Null;
    nulls["billing"] = Value::Null;
    assert_eq!(send(&app, post_json("/orders", &nulls, &[])).await.status, 200);
}

#[tokio::test]
async fn nested_and_list_errors_are_located_with_wire_names() {
    let app = app();
    let order = json!({
        "customerName": "",
        "email": "not-an-email",
        "shipping": {"city": "", "country": "Switzerland"},
        "billing": {"city": "Bern"},
        "items": [
            {"sku": "A-1", "quantity": 2, "unitPrice": 9.5},
            {"sku": "", "quantity": 0, "unitPrice": 0},
            {"sku": "C-3", "quantity": "two", "unitPrice": 1, "discount": 50}
        ],
        "channel": "fax",
        "tags": ["a", "b", "c", "d", "e", "f"]
    });
    let reply = send(&app, post_json("/orders", &order, &[])).await;
    let mut found = errors(&reply);
    found.sort_by_key(|(loc, kind)| format!("{loc}{kind}"));
    let mut expected = vec![
        error(json!(["body", "billing", "country"]), "missing"),
        error(json!(["body", "channel"]), "enum"),
        error(json!(["body", "customerName"]), "length"),
        error(json!(["body", "email"]), "email"),
        error(json!(["body", "items", 1, "quantity"]), "range"),
        error(json!(["body", "items", 1, "sku"]), "length"),
        error(json!(["body", "items", 1, "unitPrice"]), "range"),
        error(json!(["body", "items", 2, "discount"]), "unknown_field"),
        error(json!(["body", "items", 2, "quantity"]), "int_type"),
        error(json!(["body", "shipping", "city"]), "length"),
        error(json!(["body", "shipping", "country"]), "length"),
        error(json!(["body", "tags"]), "length"),
    ];
    expected.sort_by_key(|(loc, kind)| format!("{loc}{kind}"));
    assert_eq!(found, expected, "{}", reply.text);
    let channel = reply.body["errors"].as_array().unwrap().iter().find(|e| e["type"] == "enum").unwrap();
    assert_eq!(channel["msg"], "Input should be one of 'web', 'phone'");
    assert_eq!(channel["ctx"], json!({"expected": ["web", "phone"]}));
}

#[tokio::test]
async fn list_of_wrong_shapes() {
    let app = app();
    let mut order = valid_order();
    order["items"] = json!([]);
    assert_eq!(
        errors(&send(&app, post_json("/orders", &order, &[])).await),
        [error(json!(["body", "items"]), "length")]
    );
    order["items"] = json!({"sku": "A"});
    assert_eq!(
        errors(&send(&app, post_json("/orders", &order, &[])).await),
        [error(json!(["body", "items"]), "list_type")]
    );
    order["items"] = json!([1, "x"]);
    assert_eq!(
        errors(&send(&app, post_json("/orders", &order, &[])).await),
        [error(json!(["body", "items", 0]), "object_type"), error(json!(["body", "items", 1]), "object_type")]
    );
}

#[tokio::test]
async fn query_is_validated_with_query_locs() {
    let app = app();
    let reply = send(&app, get_request("/search?q=caf%C3%A9&page=2&exact=true", &[])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!({"q": "café", "page": 2, "exact": true}));
    let reply = send(&app, get_request("/search?q=tea", &[])).await;
    assert_eq!(reply.body, json!({"q": "tea", "page": null, "exact": null}));

    let reply = send(&app, get_request("/search?page=0&exact=maybe&sort=price", &[])).await;
    assert_eq!(
        errors(&reply),
        [
            error(json!(["query", "exact"]), "bool_type"),
            error(json!(["query", "page"]), "range"),
            error(json!(["query", "q"]), "missing"),
            error(json!(["query", "sort"]), "unknown_field"),
        ]
    );
    let reply = send(&app, get_request("/search?q=a&page=two", &[])).await;
    assert_eq!(errors(&reply), [error(json!(["query", "page"]), "int_parsing")]);
    let reply = send(&app, get_request("/search?q=a&q=b", &[])).await;
    assert_eq!(errors(&reply), [error(json!(["query", "q"]), "duplicate_key")]);
}

#[tokio::test]
async fn path_tuple_is_validated_with_parameter_names() {
    let app = app();
    let reply = send(&app, get_request("/orders/12/lines/3", &[])).await;
    assert_eq!(reply.body, json!({"order": 12, "line": 3}));
    let reply = send(&app, get_request("/orders/12/lines/x", &[])).await;
    assert_eq!(errors(&reply), [error(json!(["path", "line"]), "int_parsing")]);
    let reply = send(&app, get_request("/orders/-5/lines/1", &[])).await;
    assert_eq!(errors(&reply), [error(json!(["path", "order"]), "int_parsing")]);
}

#[tokio::test]
async fn form_bodies_are_validated_and_limited() {
    let app = app();
    let form = |body: &str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap()
    };
    let reply = send(&app, form("username=o%27brien&password=correct+horse")).await;
    assert_eq!(reply.body, json!({"user": "o'brien", "password_chars": 13}));
    let reply = send(&app, form("username=&password=short&remember=1")).await;
    assert_eq!(
        errors(&reply),
        [
            error(json!(["body", "password"]), "length"),
            error(json!(["body", "remember"]), "unknown_field"),
            error(json!(["body", "username"]), "length"),
        ]
    );
    // max_body = "1KiB".
    let long = format!("username=a&password={}", "p".repeat(1100));
    assert_problem(&send(&app, form(&long)).await, 413);
    // A JSON body to a form input.
    let json = post_json("/login", &json!({"username": "a", "password": "12345678"}), &[]);
    assert_problem(&send(&app, json).await, 415);
}

#[tokio::test]
async fn opted_out_inputs_are_taken_as_they_come() {
    let app = app();
    let anything = json!({"any": ["shape", {"at": "all"}]});
    let reply = send(&app, post_json("/echo", &anything, &[])).await;
    assert_eq!(reply.body, anything);
}

#[test]
fn the_route_inventory_records_validation_and_limits() {
    use secure_api::policy::Validation;
    let router: SecureRouter<Security> = SecureRouter::new()
        .route("/orders", post(create_order))
        .route("/login", post(login))
        .route("/echo", post(echo));
    let policies: Vec<_> =
        router.routes().iter().map(|route| (route.policy.validation(), route.policy.max_body())).collect();
    assert_eq!(
        policies,
        [(Validation::Enforced, 64 * 1024), (Validation::Enforced, 1024), (Validation::OptedOut, 64 * 1024)]
    );
}
