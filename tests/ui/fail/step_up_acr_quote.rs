use secure_api::secure;

// A quote would end the challenge's quoted `acr_values` early.
#[secure(auth = "oauth", acr = ["mfa\"phr"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
