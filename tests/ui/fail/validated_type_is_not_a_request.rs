use axum::Json;
use secure_api::secure;

#[derive(serde::Deserialize)]
struct Plain {
    name: String,
}

#[secure(auth = "oauth", validate)]
async fn create(Json(plain): Json<Plain>) -> String {
    plain.name
}

fn main() {}
