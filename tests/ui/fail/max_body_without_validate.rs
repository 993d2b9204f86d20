use secure_api::secure;

#[secure(auth = "oauth", max_body = "16KiB")]
async fn upload(body: String) -> String {
    body.len().to_string()
}

fn main() {}
