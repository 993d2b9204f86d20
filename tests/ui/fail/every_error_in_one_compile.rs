// Several mistakes at once: the user sees all of them in one compile, not one per build.
use secure_api::secure;

#[secure(auth = "basic", scopes = ["bad scope"], colour = "red")]
async fn handler() {}

fn main() {}
