use axum::Json;
use secure_api::{request, secure};

#[request]
struct Note {
    #[validate(length(max = 1000))]
    text: String,
}

#[secure(auth = "oauth", validate)]
async fn note(note: Option<Json<Note>>) -> String {
    note.map(|Json(note)| note.text).unwrap_or_default()
}

fn main() {}
