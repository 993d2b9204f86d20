// The object-level check judges a principal; an optional route may have none.
use http::request::Parts;
use secure_api::auth::Authorization;
use secure_api::{Principal, secure};

async fn check(_principal: &Principal, _parts: &mut Parts) -> Authorization {
    Authorization::Allow
}

#[secure(auth = "oauth", auth_optional, authorize = check)]
async fn get_item() -> &'static str {
    "item"
}

fn main() {}
