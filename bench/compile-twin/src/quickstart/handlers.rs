//! The quickstart's handlers without their security attributes.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use secure_api::{Principal, Problem};
use serde_json::{Value, json};

use super::items::{Item, ItemStore, NewItem};

/// Liveness check for load balancers.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Every item.
pub async fn list_items(State(items): State<ItemStore>) -> Json<Vec<Item>> {
    Json(items.list())
}

/// Creates an item.
pub async fn create_item(State(items): State<ItemStore>, Json(item): Json<NewItem>) -> impl IntoResponse {
    (StatusCode::CREATED, Json(items.insert(item)))
}

/// One item, or a 404 problem.
pub async fn get_item(State(items): State<ItemStore>, Path(id): Path<u64>) -> Result<Json<Item>, Problem> {
    items.get(id).map(Json).ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not Found").with_detail("No item has that id.")
    })
}

/// A usage report for API-key clients.
pub async fn reports(principal: Principal, State(items): State<ItemStore>) -> Json<Value> {
    Json(json!({ "client": principal.id(), "items": items.list().len() }))
}
