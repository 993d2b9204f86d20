use secure_api::secure;

#[secure(auth = "oauth")]
struct Handler;

fn main() {}
