use secure_api::secure;

#[secure(auth = "oauth", rate = "10/0s")]
async fn handler() {}

fn main() {}
