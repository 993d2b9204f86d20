use secure_api::secure;

// A backslash is an escape inside the challenge's quoted `acr_values`.
#[secure(auth = "oauth", acr = ["mfa\\phr"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
