use secure_api::public;

#[public(allow_ips = ["10.0.0.0/8", "10.0.0.0/33"])]
async fn internal() -> &'static str {
    "internal"
}

fn main() {}
