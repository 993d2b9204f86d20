use secure_api::secure;

#[secure]
async fn handler() {}

fn main() {}
