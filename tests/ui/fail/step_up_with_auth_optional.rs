use secure_api::secure;

// An anonymous caller has no token, so an optional route would skip the step-up rule.
#[secure(auth = "oauth", auth_optional, acr = ["urn:example:mfa"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
