use secure_api::secure;

#[secure(auth = "oauth", auth = "api_key")]
async fn handler() {}

fn main() {}
