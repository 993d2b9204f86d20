// The check must be `async fn(&Principal, &mut Parts) -> Authorization`; this one takes the
// item id instead of the request parts.
use secure_api::auth::Authorization;
use secure_api::{Principal, secure};

async fn owns_item(principal: &Principal, item: u64) -> Authorization {
    Authorization::allow_if(principal.id() == item.to_string())
}

#[secure(auth = "oauth", authorize = owns_item)]
async fn get_item() -> &'static str {
    "item"
}

fn main() {}
