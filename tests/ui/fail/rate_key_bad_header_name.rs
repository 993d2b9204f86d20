use secure_api::public;

#[public(rate = "10/1m", key = "header:x tenant")]
async fn handler() {}

fn main() {}
