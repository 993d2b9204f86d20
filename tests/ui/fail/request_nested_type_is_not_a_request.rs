use secure_api::request;

#[derive(serde::Deserialize, serde::Serialize)]
struct Address {
    city: String,
}

#[request]
struct Customer {
    address: Address,
}

fn main() {}
