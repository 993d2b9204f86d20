// A synchronous function returning `bool` is not an `authorize` check.
use http::request::Parts;
use secure_api::{Principal, secure};

fn owns_item(_principal: &Principal, _parts: &mut Parts) -> bool {
    true
}

#[secure(auth = "oauth", authorize = owns_item)]
async fn get_item() -> &'static str {
    "item"
}

fn main() {}
