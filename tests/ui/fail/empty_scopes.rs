use secure_api::secure;

#[secure(auth = "oauth", scopes = [])]
async fn handler() {}

fn main() {}
