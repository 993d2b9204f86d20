use secure_api::secure;

// Only DPoP binding exists; a misspelt or unsupported binding must not compile (and must not
// silently accept plain bearer tokens).
#[secure(auth = "oauth", bound = "mtls")]
async fn account() -> &'static str {
    "account"
}

fn main() {}
