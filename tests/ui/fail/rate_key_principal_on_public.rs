use secure_api::public;

#[public(rate = "10/1m", key = "principal")]
async fn handler() {}

fn main() {}
