use secure_api::secure;

#[secure(auth = "oauth", rate = "5000000000/1d")]
async fn handler() {}

fn main() {}
