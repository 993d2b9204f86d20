use secure_api::{SecureRouter, routing::get, secure};

// The app's state carries no `Security`, so no guard could find its keys: this must not compile.
#[derive(Clone)]
struct AppState {
    database_url: String,
}

#[secure(auth = "oauth")]
async fn handler() {}

fn main() {
    let state = AppState { database_url: String::new() };
    let _app = SecureRouter::<AppState>::new().route("/", get(handler)).with_state(state);
}
