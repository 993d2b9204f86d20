use secure_api::public;

#[public(allow_ips = ["10.1.0.0/16"], deny_ips = ["10.0.0.0/8"])]
async fn internal() -> &'static str {
    "internal"
}

fn main() {}
