use secure_api::secure;

// A value listed twice is a typo for another value.
#[secure(auth = "oauth", acr = ["urn:example:mfa", "urn:example:mfa"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
