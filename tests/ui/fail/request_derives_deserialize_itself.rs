use secure_api::request;

#[request]
#[derive(serde::Deserialize)]
struct NewItem {
    #[validate(length(max = 100))]
    name: String,
}

fn main() {}
