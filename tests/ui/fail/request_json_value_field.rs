use secure_api::request;

#[request]
struct Anything {
    payload: serde_json::Value,
}

fn main() {}
