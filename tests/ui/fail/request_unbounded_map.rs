use std::collections::HashMap;

use secure_api::request;

#[request]
struct Labels {
    #[validate(length(min = 1))]
    labels: Option<HashMap<u32, u32>>,
}

fn main() {}
