// `Json` reads the request body, so it must be the handler's last argument.
use axum::Json;
use axum::extract::Path;
use secure_api::{request, secure};

#[request]
struct Note {
    #[validate(length(max = 100))]
    text: String,
}

#[secure(auth = "oauth", validate)]
async fn annotate(Json(note): Json<Note>, Path(id): Path<u64>) -> String {
    format!("{id}: {}", note.text)
}

fn main() {}
