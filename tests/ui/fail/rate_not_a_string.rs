use secure_api::public;

#[public(rate = 100)]
async fn handler() {}

fn main() {}
