use secure_api::secure;

#[secure(auth = "oauth", rate = "0/1m")]
async fn handler() {}

fn main() {}
