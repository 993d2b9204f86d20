// A check that takes `State<T>` needs the router's state named with `state = ...`.
use axum::extract::State;
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::{Principal, secure};

#[derive(Clone)]
struct Owners;

async fn owns_order(_principal: &Principal, _parts: &mut Parts, State(_owners): State<Owners>) -> Authorization {
    Authorization::Allow
}

#[secure(auth = "oauth", authorize = owns_order)]
async fn get_order() -> &'static str {
    "order"
}

fn main() {}
