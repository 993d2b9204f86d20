use axum::Json;
use secure_api::{request, secure};

#[request]
struct NewItem {
    #[validate(length(min = 1, max = 100))]
    name: String,
}

#[secure(auth = "oauth", scopes = ["items:write"])]
async fn create_item(Json(item): Json<NewItem>) -> String {
    item.name
}

fn main() {}
