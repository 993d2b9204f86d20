use secure_api::public;

// A public route authenticates no one, so there is no authentication to step up.
#[public(acr = ["urn:example:mfa"])]
async fn health() -> &'static str {
    "ok"
}

fn main() {}
