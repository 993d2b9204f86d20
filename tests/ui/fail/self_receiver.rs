use secure_api::secure;

struct Api;

impl Api {
    #[secure(auth = "oauth")]
    async fn handler(&self) {}
}

fn main() {}
