use secure_api::secure;

// No authentication is 0 seconds old: this would refuse every token.
#[secure(auth = "oauth", max_age = 0)]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
