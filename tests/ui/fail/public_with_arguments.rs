use secure_api::public;

#[public(auth = "oauth")]
async fn handler() {}

fn main() {}
