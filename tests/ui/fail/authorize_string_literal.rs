// `authorize` takes a path to the function, not a string.
use secure_api::secure;

#[secure(auth = "oauth", authorize = "checks::owns_item")]
async fn get_item() -> &'static str {
    "item"
}

fn main() {}
