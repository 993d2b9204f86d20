// A path parameter taken as a bare `u64` instead of `Path<u64>`: not an extractor, whatever
// the router's state, so it is reported on the argument.
use secure_api::secure;

#[secure(auth = "oauth")]
async fn show(id: u64) -> String {
    id.to_string()
}

fn main() {}
