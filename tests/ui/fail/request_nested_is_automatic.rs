use secure_api::request;

#[request]
struct Address {
    #[validate(length(max = 50))]
    city: String,
}

#[request]
struct Customer {
    #[validate(nested)]
    address: Address,
}

fn main() {}
