// An object-level check that reads the app state, on a router with that state; handlers
// taking state-specific extractors with and without `state = ...`.
use axum::extract::{FromRef, FromRequestParts, Path, State};
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};

#[derive(Clone)]
struct Owners;

#[derive(Clone)]
struct AppState {
    security: Security,
    owners: Owners,
}

impl FromRef<AppState> for Security {
    fn from_ref(state: &AppState) -> Self {
        state.security.clone()
    }
}

impl FromRef<AppState> for Owners {
    fn from_ref(state: &AppState) -> Self {
        state.owners.clone()
    }
}

/// An extractor that exists only for `AppState`: without `state = ...` the macro must not
/// check it against a guessed state.
struct CurrentTenant;

impl FromRequestParts<AppState> for CurrentTenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self)
    }
}

async fn owns_order(principal: &Principal, parts: &mut Parts, State(_owners): State<Owners>) -> Authorization {
    let Ok(Path(owner)) = Path::<String>::from_request_parts(parts, &()).await else {
        return Authorization::Deny;
    };
    Authorization::allow_if(owner == principal.id())
}

#[secure(auth = "oauth", authorize = owns_order, state = AppState, validate)]
async fn get_order(Path(owner): Path<String>, _tenant: CurrentTenant) -> String {
    owner
}

#[secure(auth = "oauth")]
async fn tenant(_tenant: CurrentTenant, State(_owners): State<Owners>) -> &'static str {
    "tenant"
}

fn main() {
    // Routing is where axum's `Handler` bound (and so the check's state) is proven.
    let _router: SecureRouter<AppState> =
        SecureRouter::new().route("/orders/{owner}", get(get_order)).route("/tenant", get(tenant));
    let _state = AppState { security: Security::builder().build(), owners: Owners };
}
