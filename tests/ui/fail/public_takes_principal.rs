use secure_api::{Principal, public};

#[public]
async fn handler(principal: Principal) -> String {
    principal.id().to_owned()
}

fn main() {}
