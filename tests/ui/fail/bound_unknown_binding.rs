use secure_api::secure;

// Only `dpop`, `mtls` and `any` exist; a misspelt or unsupported binding must not compile (and must not
// silently accept plain bearer tokens).
#[secure(auth = "oauth", bound = "hok")]
async fn account() -> &'static str {
    "account"
}

fn main() {}
