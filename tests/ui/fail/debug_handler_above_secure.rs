// `#[axum::debug_handler]` above `#[secure]` copies the function, attribute included, into its
// own check and calls it without the guard argument `#[secure]` adds: put it below `#[secure]`
// (whose own checks already give axum's diagnoses).
use secure_api::secure;

#[axum::debug_handler]
#[secure(auth = "oauth")]
async fn show() -> &'static str {
    "item"
}

fn main() {}
