//! The quickstart's handlers. Each carries its policy; the bodies are ordinary axum code.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use secure_api::{Principal, Problem, public, secure};
use serde_json::{Value, json};

use super::items::{Item, ItemStore, NewItem};

/// Liveness check for load balancers.
#[public]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Every item.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m")]
pub async fn list_items(State(items): State<ItemStore>) -> Json<Vec<Item>> {
    Json(items.list())
}

/// Creates an item: 201 with the stored item, or 422 listing every invalid field.
#[secure(auth = "oauth", scopes = ["items:write"], rate = "100/15m", validate, max_body = "16KiB")]
pub async fn create_item(State(items): State<ItemStore>, Json(item): Json<NewItem>) -> impl IntoResponse {
    (StatusCode::CREATED, Json(items.insert(item)))
}

/// One item, or a 404 problem; a non-numeric id is a 422 at `["path", "id"]`.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m", validate)]
pub async fn get_item(State(items): State<ItemStore>, Path(id): Path<u64>) -> Result<Json<Item>, Problem> {
    items.get(id).map(Json).ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found").with_detail("No item has that id.")
    })
}

/// A usage report for API-key clients.
#[secure(auth = "api_key", rate = "10/1m", key = "api_key")]
pub async fn reports(principal: Principal, State(items): State<ItemStore>) -> Json<Value> {
    Json(json!({ "client": principal.id(), "items": items.list().len() }))
}

/// The caller's account: who it is, its scopes, and the key or certificate its token is bound
/// to. Only sender-constrained tokens open it (DPoP-bound with their proof, or certificate-bound
/// over a connection with that certificate): a stolen plain bearer token gets 401.
#[secure(auth = "oauth", scopes = ["items:read"], rate = "100/15m", bound = "any")]
pub async fn account(principal: Principal) -> Json<Value> {
    let cnf = principal.claims().get("cnf");
    let jkt = cnf.and_then(|cnf| cnf.get("jkt")).cloned().unwrap_or(Value::Null);
    let x5t = cnf.and_then(|cnf| cnf.get("x5t#S256")).cloned().unwrap_or(Value::Null);
    Json(json!({ "sub": principal.id(), "scopes": principal.scopes(), "jkt": jkt, "x5t#S256": x5t }))
}
