use secure_api::secure;

#[secure(auth = "basic")]
async fn handler() {}

fn main() {}
