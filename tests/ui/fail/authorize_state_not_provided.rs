// The check reads `Owners` from the state, but `AppState` cannot provide it (no
// `FromRef<AppState> for Owners`): reported on the check's path.
use axum::extract::{FromRef, State};
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::{Principal, Security, secure};

#[derive(Clone)]
struct Owners;

#[derive(Clone)]
struct AppState {
    security: Security,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

async fn owns_order(_principal: &Principal, _parts: &mut Parts, State(_owners): State<Owners>) -> Authorization {
    Authorization::Allow
}

#[secure(auth = "oauth", authorize = owns_order, state = AppState)]
async fn get_order() -> &'static str {
    "order"
}

fn main() {}
