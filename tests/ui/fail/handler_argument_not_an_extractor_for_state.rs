// With `state = AppState`, every argument is checked against that state, as
// `#[axum::debug_handler(state = ...)]` does: `Settings` is not `FromRef<AppState>`.
use axum::extract::{FromRef, State};
use secure_api::{Security, secure};

#[derive(Clone)]
struct Settings;

#[derive(Clone)]
struct AppState {
    security: Security,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

#[secure(auth = "oauth", state = AppState)]
async fn settings(State(_settings): State<Settings>) -> &'static str {
    "settings"
}

fn main() {}
