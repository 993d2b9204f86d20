use secure_api::public;

// Only `problem` and `oauth` exist; a misspelt format must not compile (the self-scan would
// otherwise hold the route to a format it never declared).
#[public(errors = "rfc6749")]
async fn token() -> &'static str {
    "token"
}

fn main() {}
