use secure_api::secure;

#[secure(auth = "oauth", rate = "10/1m", key = "api_key")]
async fn handler() {}

fn main() {}
