// An anonymous caller holds no scopes, so `scopes` and `auth_optional` cannot be combined.
use secure_api::{Principal, secure};

#[secure(auth = "oauth", scopes = ["items:read"], auth_optional)]
async fn list(principal: Option<Principal>) -> String {
    format!("{principal:?}")
}

fn main() {}
