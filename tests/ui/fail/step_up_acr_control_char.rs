use secure_api::secure;

// A control character cannot travel in a header.
#[secure(auth = "oauth", acr = ["mfa\nphr"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
