use secure_api::secure;

// API keys carry no `acr`: a key accepted beside the token would walk past the step-up rule.
#[secure(auth = "oauth | api_key", acr = ["urn:example:mfa"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
