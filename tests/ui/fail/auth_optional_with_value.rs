// `auth_optional` is a flag, not `auth_optional = true`.
use secure_api::secure;

#[secure(auth = "oauth", auth_optional = true)]
async fn greeting() -> &'static str {
    "hi"
}

fn main() {}
