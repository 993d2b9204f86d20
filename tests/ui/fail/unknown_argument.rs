use secure_api::secure;

#[secure(auth = "oauth", colour = "red")]
async fn handler() {}

fn main() {}
