//! What must keep compiling: every argument form, doc comments, attributes, visibility,
//! generics with where-clauses, custom state through `FromRef`, nesting and merging.

use axum::extract::{FromRef, State};
use secure_api::routing::{get, post};
use secure_api::{Principal, SecureRouter, Security, public, secure};

#[derive(Clone)]
struct AppState {
    security: Security,
    greeting: &'static str,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

impl FromRef<AppState> for &'static str {
    fn from_ref(state: &AppState) -> Self {
        state.greeting
    }
}

/// A documented public handler.
#[public]
#[allow(clippy::unused_async)]
pub async fn health() -> &'static str {
    "ok"
}

#[secure(auth = "jwt", scopes = ["items:read", "items:write"])]
pub(crate) async fn both_scopes(principal: Principal, State(greeting): State<&'static str>) -> String {
    format!("{greeting} {}", principal.id())
}

#[secure(auth = "api_key")]
async fn api_key_only() {}

#[secure(auth = "oauth | api_key")]
async fn either_scheme(principal: Principal) -> String {
    principal.method().as_str().to_owned()
}

#[secure(auth = "oauth")]
async fn generic<T>(State(value): State<T>) -> String
where
    T: Clone + Send + Sync + ToString + 'static,
{
    value.to_string()
}

fn main() {
    let admin = SecureRouter::new().route("/either", get(either_scheme));
    let _app = SecureRouter::new()
        .route("/health", get(health))
        .route("/items", get(both_scopes).post(api_key_only))
        .route("/generic", post(generic::<&'static str>))
        .nest("/admin", admin)
        .with_state(AppState { security: Security::builder().build(), greeting: "hello" });
}
