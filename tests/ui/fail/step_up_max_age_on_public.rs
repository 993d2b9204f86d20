use secure_api::public;

// A public route authenticates no one, so there is no authentication to be recent.
#[public(max_age = 300)]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
