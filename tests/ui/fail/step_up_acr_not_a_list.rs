use secure_api::secure;

// `acr` is a list, even of one value.
#[secure(auth = "oauth", acr = "urn:example:mfa")]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
