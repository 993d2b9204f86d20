use secure_api::secure;

#[secure(auth = "oauth", rate = "100/400d")]
async fn handler() {}

fn main() {}
