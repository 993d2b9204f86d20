use secure_api::secure;

// API keys carry no `auth_time`: the step-up rule cannot apply to them.
#[secure(auth = "api_key", max_age = 300)]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
