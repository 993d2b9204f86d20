use secure_api::secure;

#[secure(auth = oauth)]
async fn handler() {}

fn main() {}
