//! Object-level authorization (`authorize = path::to::check`): allow and deny by a path
//! parameter, run after scopes and before the body is read.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path};
use bytes::Bytes;
use http::Request;
use http::request::Parts;
use secure_api::SecureApp;
use secure_api::auth::{Authorization, JwtVerifier, VerificationKey};
use secure_api::routing::get;
use secure_api::{Principal, Problem, SecureRouter, Security, secure};
use serde_json::{Value, json};

use crate::common::{assert_problem, bearer, send};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Calls of [`counting_check`]; only `scopes_are_checked_first` uses its route.
static AUDIT_CHECKS: AtomicUsize = AtomicUsize::new(0);

async fn counting_check(_principal: &Principal, _parts: &mut Parts) -> Authorization {
    AUDIT_CHECKS.fetch_add(1, Ordering::SeqCst);
    Authorization::Allow
}

#[secure(auth = "oauth", scopes = ["audit:read"], authorize = counting_check)]
async fn audit_entry(Path(id): Path<u64>) -> String {
    format!("entry {id}")
}

mod checks {
    use super::*;

    /// Callers may use only their own account; `root` may see everything; accounts named
    /// `hidden-*` are answered 404 to everyone else, so their existence does not leak.
    pub async fn owns_account(principal: &Principal, parts: &mut Parts) -> Authorization {
        let Ok(Path(account)) = Path::<String>::from_request_parts(parts, &()).await else {
            return Authorization::Deny;
        };
        if account == principal.id() || principal.id() == "root" {
            Authorization::Allow
        } else if account.starts_with("hidden-") {
            Authorization::Reject(Problem::new(http::StatusCode::NOT_FOUND, "not-found", "Not Found"))
        } else {
            Authorization::Deny
        }
    }
}

#[secure(auth = "oauth", scopes = ["accounts:read"], authorize = checks::owns_account)]
async fn get_account(principal: Principal, Path(account): Path<String>) -> String {
    format!("{account} seen by {}", principal.id())
}

// The body is free-form on purpose: this route tests that `authorize` runs before it is read.
#[secure(auth = "oauth", authorize = self::checks::owns_account, validate = false)]
async fn update_account(Path(account): Path<String>, Json(body): Json<Value>) -> String {
    format!("{account} updated with {body}")
}

fn app() -> SecureApp {
    let security = Security::builder()
        .jwt(JwtVerifier::builder().key(VerificationKey::hs256(SECRET).unwrap()).build().unwrap())
        .build();
    SecureRouter::new()
        .route("/accounts/{account}", get(get_account).post(update_account))
        .route("/audit/{id}", get(audit_entry))
        .with_state(security)
}

fn token(sub: &str, scope: &str) -> String {
    let claims = json!({"sub": sub, "scope": scope, "exp": crate::common::now() + 600});
    crate::common::sign_with(jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, SECRET)
}

async fn get_as(app: &SecureApp, sub: &str, scope: &str, path: &str) -> crate::common::Reply {
    send(app, crate::common::get(path, &[("authorization", &bearer(&token(sub, scope)))])).await
}

#[tokio::test]
async fn the_check_allows_by_path_parameter() {
    let app = app();
    let reply = get_as(&app, "alice", "accounts:read", "/accounts/alice").await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice seen by alice"));
    let reply = get_as(&app, "root", "accounts:read", "/accounts/alice").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_denial_is_403_forbidden_problem() {
    let reply = get_as(&app(), "alice", "accounts:read", "/accounts/bob").await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:forbidden");
    assert!(reply.header("www-authenticate").is_empty(), "not a scope problem: {reply:?}");
    assert!(!reply.text.contains("bob"), "{reply:?}");
}

#[tokio::test]
async fn the_check_can_answer_404_to_hide_an_object() {
    let reply = get_as(&app(), "alice", "accounts:read", "/accounts/hidden-bob").await;
    assert_problem(&reply, 404);
}

#[tokio::test]
async fn scopes_are_checked_first() {
    let app = app();
    let reply = get_as(&app, "alice", "other:scope", "/audit/1").await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:insufficient-scope");
    assert_eq!(AUDIT_CHECKS.load(Ordering::SeqCst), 0, "the check ran before the scope check");
    assert_eq!(get_as(&app, "alice", "audit:read", "/audit/1").await.status, 200);
    assert_eq!(AUDIT_CHECKS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unauthenticated_callers_never_reach_the_check() {
    let reply = send(&app(), crate::common::get("/accounts/alice", &[])).await;
    assert_problem(&reply, 401);
}

/// A request body that records whether anyone read it.
struct WatchedBody {
    read: Arc<AtomicBool>,
    data: Option<Bytes>,
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.read.store(true, Ordering::SeqCst);
        Poll::Ready(self.data.take().map(|data| Ok(http_body::Frame::data(data))))
    }
}

fn post_watched(path: &str, sub: &str) -> (Request<Body>, Arc<AtomicBool>) {
    let read = Arc::new(AtomicBool::new(false));
    let body = WatchedBody { read: read.clone(), data: Some(Bytes::from_static(b"{\"name\":\"new\"}")) };
    let request = Request::post(path)
        .header("authorization", bearer(&token(sub, "")))
        .header("content-type", "application/json")
        .body(Body::new(body))
        .unwrap();
    (request, read)
}

#[tokio::test]
async fn the_body_is_not_read_for_a_denied_caller() {
    let app = app();
    let (request, read) = post_watched("/accounts/bob", "alice");
    assert_problem(&send(&app, request).await, 403);
    assert!(!read.load(Ordering::SeqCst), "the body of a denied request was read");
    let (request, read) = post_watched("/accounts/alice", "alice");
    let reply = send(&app, request).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice updated with {\"name\":\"new\"}"));
    assert!(read.load(Ordering::SeqCst));
}

#[test]
fn the_router_records_the_check() {
    let router: SecureRouter<Security> = SecureRouter::new().route("/accounts/{account}", get(get_account));
    assert_eq!(router.routes()[0].policy.authorize(), Some("checks::owns_account"));
}
