use secure_api::secure;

// API keys are not bound to a client key: `bound` on an API-key route would promise a
// protection it cannot give.
#[secure(auth = "api_key", bound = "dpop")]
async fn account() -> &'static str {
    "account"
}

fn main() {}
