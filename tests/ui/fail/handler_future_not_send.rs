// A handler that holds an `Rc` across an `.await` has a future that is not `Send`: the error
// is axum's own ("future cannot be sent between threads safely"), on the handler, and the
// route does not claim the annotation is missing.
use std::rc::Rc;

use secure_api::{SecureRouter, Security, routing::get, secure};

#[secure(auth = "oauth")]
async fn counter() -> String {
    let shared = Rc::new(1);
    std::future::ready(()).await;
    shared.to_string()
}

fn main() {
    let _router: SecureRouter<Security> = SecureRouter::new().route("/", get(counter));
}
