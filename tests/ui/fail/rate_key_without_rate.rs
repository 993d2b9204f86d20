use secure_api::secure;

#[secure(auth = "oauth", key = "ip")]
async fn handler() {}

fn main() {}
