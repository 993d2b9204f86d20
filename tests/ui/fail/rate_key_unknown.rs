use secure_api::secure;

#[secure(auth = "oauth", rate = "10/1m", key = "user")]
async fn handler() {}

fn main() {}
