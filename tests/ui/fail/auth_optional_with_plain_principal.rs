// An `auth_optional` route may run with no caller: the handler must take `Option<Principal>`.
use secure_api::{Principal, secure};

#[secure(auth = "oauth", auth_optional)]
async fn greeting(principal: Principal) -> String {
    principal.id().to_owned()
}

fn main() {}
