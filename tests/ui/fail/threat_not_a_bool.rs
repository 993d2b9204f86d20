use secure_api::public;

#[public(threat = "off")]
async fn snippets() -> &'static str {
    "snippets"
}

fn main() {}
