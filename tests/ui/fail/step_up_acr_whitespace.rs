use secure_api::secure;

// `acr_values` is space-separated: a value with a space would read as two.
#[secure(auth = "oauth", acr = ["multi factor"])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
