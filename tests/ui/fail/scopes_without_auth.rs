use secure_api::secure;

#[secure(scopes = ["items:read"])]
async fn handler() {}

fn main() {}
