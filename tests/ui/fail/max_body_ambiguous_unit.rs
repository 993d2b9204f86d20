use axum::Json;
use secure_api::{request, secure};

#[request]
struct Note {
    #[validate(length(max = 1000))]
    text: String,
}

#[secure(auth = "oauth", validate, max_body = "16KB")]
async fn note(Json(note): Json<Note>) -> String {
    note.text
}

fn main() {}
