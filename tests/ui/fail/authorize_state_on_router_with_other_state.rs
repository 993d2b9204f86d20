// The check runs with `AppState`; registering the handler on a router whose state is another
// type does not compile.
use axum::extract::{FromRef, State};
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::{Principal, SecureRouter, Security, routing::get, secure};

#[derive(Clone)]
struct AppState {
    security: Security,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

async fn owns_order(_principal: &Principal, _parts: &mut Parts, State(_state): State<AppState>) -> Authorization {
    Authorization::Allow
}

#[secure(auth = "oauth", authorize = owns_order, state = AppState)]
async fn get_order() -> &'static str {
    "order"
}

fn main() {
    let _router: SecureRouter<Security> = SecureRouter::new().route("/orders", get(get_order));
}
