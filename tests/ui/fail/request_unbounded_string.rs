use secure_api::request;

#[request]
struct NewItem {
    #[validate(length(min = 1))]
    name: String,
    price: f64,
}

fn main() {}
