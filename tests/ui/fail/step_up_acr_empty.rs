use secure_api::secure;

// An empty list accepts no token at all: name at least one value.
#[secure(auth = "oauth", acr = [])]
async fn transfer() -> &'static str {
    "done"
}

fn main() {}
