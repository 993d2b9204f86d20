//! Helpers shared by the behaviour tests: the quickstart app with fixed test keys, token
//! minting, and one-call request sending.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_api::SecureApp;
use secure_api_examples::quickstart::{self, Config};
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// The quickstart's test configuration (fixed secrets).
pub fn config() -> Config {
    Config::for_tests()
}

/// A JWT verifier with the test config's HS256 key, issuer and audience: what the quickstart
/// trusts, for apps a test assembles itself.
pub fn config_verifier() -> secure_api::auth::JwtVerifier {
    let config = config();
    secure_api::auth::JwtVerifier::builder()
        .key(secure_api::auth::VerificationKey::hs256(config.jwt_secret.expose().as_bytes()).expect("a 32-byte key"))
        .issuer(config.issuer)
        .audience(config.audience)
        .build()
        .expect("a valid verifier")
}

/// The quickstart app built from [`config`].
pub fn app() -> SecureApp {
    quickstart::app(&config()).expect("test config is valid")
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Claims the quickstart accepts, with `scope`.
pub fn claims(scope: &str) -> Value {
    let config = config();
    json!({
        "iss": config.issuer,
        "aud": config.audience,
        "sub": "alice",
        "scope": scope,
        "iat": now(),
        "exp": now() + 600,
    })
}

/// Signs `claims` with the quickstart's HS256 secret.
pub fn sign(claims: &Value) -> String {
    sign_with(Header::new(Algorithm::HS256), claims, config().jwt_secret.expose().as_bytes())
}

pub fn sign_with(header: Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("signing works")
}

/// A valid token with `scope`.
pub fn token(scope: &str) -> String {
    sign(&claims(scope))
}

// Sending and reading requests: the framework's own test helpers (`secure_api::testing`, the
// same ones applications use), so the suite exercises them too.
pub use secure_api::testing::{Reply, bearer, get, post_json, send};

/// Asserts the RFC 9457 envelope and that nothing internal leaks.
pub fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(reply.header("content-type"), "application/problem+json", "{reply:?}");
    assert_eq!(reply.body["status"], status, "{reply:?}");
    assert!(reply.body["type"].is_string() && reply.body["title"].is_string(), "{reply:?}");
    assert_no_internals(&reply.text);
}

/// No crate names, paths or Rust type names in a body.
pub fn assert_no_internals(text: &str) {
    for needle in ["secure_api", "jsonwebtoken", "axum", "serde", ".rs", "panicked", "src/", "::"] {
        assert!(!text.contains(needle), "body leaks `{needle}`: {text}");
    }
}

/// Runs the `#[ignore]`d test `name` of this binary alone in a child process and returns its
/// output. `tracing` caches per-callsite interest process-wide, so a test that captures log
/// lines with a thread-local subscriber can miss events while other tests' subscribers come
/// and go; a process of its own sees every event.
pub fn run_alone(name: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"])
        .env("SECURE_API_RUN_ALONE", "1")
        .output()
        .expect("the test binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{name} failed:\n{text}");
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
    text
}

/// Everything a `tracing` subscriber writes, collected in a shared buffer (a `MakeWriter`
/// target for `tracing_subscriber::fmt().with_writer(captured.clone())`).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The audit lines of a JSON subscriber (`.json().flatten_event(true)`), parsed.
    pub fn audit_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("every line is one JSON object"))
            .filter(|line| line["target"] == "secure_api::audit")
            .collect()
    }
}

/// Installs a JSON subscriber (as the quickstart's `SECURE_API_LOG_FORMAT=json`) for this
/// thread, writing into the returned [`Captured`]; `#[tokio::test]` runs the whole test on it.
/// Each capturing test runs alone in its own process (`run_alone`): `tracing`'s process-wide
/// callsite caches lose events when other tests' subscribers come and go.
pub fn capture_json() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
