//! What `validate` and `#[secure_api::request]` accept.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::{Form, Json};
use secure_api::routing::{get, post};
use secure_api::{Principal, SecureRouter, Security, public, request, secure};

/// A value from elsewhere, with its own parsing and no rules: `#[request(leaf)]`.
#[derive(serde::Deserialize, serde::Serialize, Debug)]
enum Colour {
    Red,
    Blue,
}

#[request]
#[derive(Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Size {
    Small,
    Large,
}

#[request]
#[derive(Debug)]
struct Variant {
    #[validate(length(min = 1, max = 20))]
    sku: String,
    size: Size,
}

#[request]
#[derive(Debug)]
#[serde(rename_all = "camelCase")]
struct NewProduct {
    #[validate(length(min = 1, max = 100))]
    display_name: String,
    #[validate(length(max = 2000))]
    description: Option<String>,
    #[validate(length(max = 50))]
    variants: Vec<Variant>,
    main_variant: Option<Variant>,
    #[validate(length(max = 10))]
    attributes: BTreeMap<String, u32>,
    #[request(leaf)]
    colour: Colour,
    #[validate(range(min = 0, max = 1000))]
    stock: u32,
    id: Option<uuid_like::Id>,
    #[validate(email, length(max = 254))]
    contact: String,
    #[serde(rename = "ref")]
    #[validate(length(equal = 8))]
    reference: String,
}

mod uuid_like {
    #[secure_api::request]
    #[derive(Debug)]
    pub struct Id {
        pub value: u64,
    }
}

#[request]
struct Page {
    #[validate(range(min = 1, max = 100))]
    page: Option<u32>,
}

#[secure(auth = "oauth", scopes = ["products:write"], validate, max_body = "32KiB")]
async fn create(principal: Principal, State(_): State<Security>, Json(product): Json<NewProduct>) -> String {
    format!("{} {} {:?}", principal.id(), product.display_name, product.colour)
}

#[secure(auth = "oauth", validate)]
async fn list(Query(page): Query<Page>, Path(shop): Path<u64>) -> String {
    format!("{shop} {:?}", page.page)
}

#[public(validate)]
async fn login(Form(page): Form<Page>) -> String {
    format!("{:?}", page.page)
}

/// An explicit, visible opt-out.
#[secure(auth = "oauth", validate = false)]
async fn raw(Json(value): Json<serde_json::Value>) -> String {
    value.to_string()
}

/// `Path` alone needs no decision.
#[secure(auth = "oauth")]
async fn one(Path(id): Path<u64>) -> String {
    id.to_string()
}

fn main() {
    let _app = SecureRouter::new()
        .route("/products", post(create))
        .route("/shops/{shop}/products", get(list))
        .route("/login", post(login))
        .route("/raw", post(raw))
        .route("/one/{id}", get(one))
        .with_state(Security::builder().build());
}
