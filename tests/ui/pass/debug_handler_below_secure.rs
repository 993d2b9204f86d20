// `#[axum::debug_handler]` below `#[secure]` checks the expanded handler (guard included);
// like any axum handler whose state is not `()`, it is told the state.
use axum::extract::Path;
use secure_api::routing::get;
use secure_api::{SecureRouter, Security, secure};

#[secure(auth = "oauth")]
#[axum::debug_handler(state = Security)]
async fn show(Path(id): Path<u64>) -> String {
    id.to_string()
}

#[secure(auth = "oauth", state = Security)]
#[axum::debug_handler(state = Security)]
async fn list() -> &'static str {
    "[]"
}

fn main() {
    let _router: SecureRouter<Security> =
        SecureRouter::new().route("/items/{id}", get(show)).route("/items", get(list));
}
