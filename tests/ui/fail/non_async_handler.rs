use secure_api::secure;

#[secure(auth = "oauth")]
fn handler() -> &'static str {
    "sync"
}

fn main() {}
