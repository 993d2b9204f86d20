//! Plain axum routes with no framework layer at all: the denominator of every ratio.

use axum::Json;
use axum::Router;
use axum::routing::get;
use http::StatusCode;

use crate::{Item, NewItem};

/// `GET /axum` and `POST /axum`: bare axum handlers, no authentication, no log, no headers.
///
/// # Examples
/// ```
/// let router: axum::Router = secure_api_bench::bare::router();
/// ```
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/axum", get(get_item).post(create_item))
}

/// The fixed item.
pub async fn get_item() -> Json<Item> {
    Json(Item::sample())
}

/// Parses the body (with axum's `Json`) and echoes it as a created item.
pub async fn create_item(Json(item): Json<NewItem>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(Item { id: 2, name: item.name, price: item.price }))
}
