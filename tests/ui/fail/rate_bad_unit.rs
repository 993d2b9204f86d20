use secure_api::secure;

#[secure(auth = "oauth", rate = "100/15min")]
async fn handler() {}

fn main() {}
