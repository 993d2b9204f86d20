use secure_api::secure;

// `max_age` is a whole number of seconds, not a duration string.
#[secure(auth = "oauth", max_age = "5m")]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
