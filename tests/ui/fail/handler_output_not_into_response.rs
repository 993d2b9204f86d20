// The handler's output must implement `IntoResponse`; the error lands on the return type.
use secure_api::secure;

struct Report {
    lines: usize,
}

#[secure(auth = "oauth")]
async fn report() -> Report {
    Report { lines: 1 }
}

fn main() {}
