use secure_api::{SecureRouter, Security, routing::get};

async fn forgotten() -> &'static str {
    "anyone can call me"
}

fn main() {
    let _router: SecureRouter<Security> = SecureRouter::new().route("/", get(forgotten));
}
