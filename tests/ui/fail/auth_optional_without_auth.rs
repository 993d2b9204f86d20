// `auth_optional` qualifies `auth`; alone it names no scheme.
use secure_api::secure;

#[secure(auth_optional)]
async fn greeting() -> &'static str {
    "hi"
}

fn main() {}
