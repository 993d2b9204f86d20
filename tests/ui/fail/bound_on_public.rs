use secure_api::public;

// A public route authenticates no one, so there is no token to be bound.
#[public(bound = "dpop")]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
