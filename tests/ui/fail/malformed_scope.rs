use secure_api::secure;

#[secure(auth = "oauth", scopes = ["items:read", "items write"])]
async fn handler() {}

fn main() {}
