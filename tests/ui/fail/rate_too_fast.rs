use secure_api::secure;

#[secure(auth = "oauth", rate = "2000000/1s")]
async fn handler() {}

fn main() {}
