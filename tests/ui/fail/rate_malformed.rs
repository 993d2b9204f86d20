use secure_api::secure;

#[secure(auth = "oauth", rate = "100 per minute")]
async fn handler() {}

fn main() {}
