use secure_api::secure;

#[deny(unused_variables)]
#[secure(auth = "oauth")]
async fn handler() {
    let unused = 42;
}

fn main() {}
