use secure_api::secure;

// `errors` describes a public endpoint's own protocol errors (an OAuth token endpoint); a
// `#[secure]` route answers every rejection as application/problem+json.
#[secure(auth = "oauth", errors = "oauth")]
async fn account() -> &'static str {
    "account"
}

fn main() {}
