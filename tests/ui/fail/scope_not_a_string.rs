use secure_api::secure;

#[secure(auth = "oauth", scopes = [items_read])]
async fn handler() {}

fn main() {}
