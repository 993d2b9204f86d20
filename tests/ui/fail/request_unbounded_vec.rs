use secure_api::request;

#[request]
struct Tagging {
    tags: Vec<u32>,
}

fn main() {}
