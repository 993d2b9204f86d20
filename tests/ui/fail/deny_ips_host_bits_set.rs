use secure_api::secure;

#[secure(auth = "oauth", deny_ips = ["192.0.2.7/24"])]
async fn items() -> &'static str {
    "items"
}

fn main() {}
