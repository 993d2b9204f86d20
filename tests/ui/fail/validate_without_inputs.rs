use secure_api::secure;

#[secure(auth = "oauth", validate)]
async fn list() -> &'static str {
    "[]"
}

fn main() {}
