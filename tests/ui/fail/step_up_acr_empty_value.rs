use secure_api::secure;

// An empty value cannot be sent in the challenge's space-separated `acr_values`.
#[secure(auth = "oauth", acr = ["urn:example:mfa", ""])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
