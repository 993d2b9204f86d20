// Several schemes, optional authentication and an object-level check, as documented.
use axum::extract::{FromRequestParts, Path};
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};

mod checks {
    use super::*;

    pub async fn owns_item(principal: &Principal, parts: &mut Parts) -> Authorization {
        match Path::<String>::from_request_parts(parts, &()).await {
            Ok(Path(owner)) => Authorization::allow_if(owner == principal.id()),
            Err(_) => Authorization::Deny,
        }
    }
}

#[secure(auth = "oauth | api_key")]
async fn either(principal: Principal) -> String {
    principal.id().to_owned()
}

#[secure(auth = "oauth", auth_optional)]
async fn greeting(principal: Option<Principal>) -> String {
    principal.map_or_else(|| "stranger".to_owned(), |principal| principal.id().to_owned())
}

#[secure(auth = "oauth", scopes = ["items:read"], authorize = checks::owns_item)]
async fn owned(Path(owner): Path<String>, principal: Principal) -> String {
    format!("{owner} {}", principal.id())
}

fn main() {
    let router: SecureRouter<Security> = SecureRouter::new()
        .route("/either", get(either))
        .route("/greeting", get(greeting))
        .route("/items/{owner}", get(owned));
    let _app = router.with_state(Security::builder().build());
}
