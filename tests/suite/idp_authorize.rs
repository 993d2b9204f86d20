//! Object-level authorization (`authorize = path::to::check`): allow and deny by a path
//! parameter, run after scopes and path validation, and before the body is read; checks that
//! read the app's own state (`state = AppState`, `State<T>` with `T: FromRef<AppState>`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use bytes::Bytes;
use http::Request;
use http::request::Parts;
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

fn security() -> Security {
    Security::builder()
        .jwt(JwtVerifier::builder().key(VerificationKey::hs256(SECRET).unwrap()).build().unwrap())
        .build()
}

// A macro, not a function, so these tests never name the finished app's type.
macro_rules! app {
    () => {
        SecureRouter::new()
            .route("/accounts/{account}", get(get_account).post(update_account))
            .route("/audit/{id}", get(audit_entry))
            .with_state(security())
    };
}

fn token(sub: &str, scope: &str) -> String {
    let claims = json!({"sub": sub, "scope": scope, "exp": crate::common::now() + 600});
    crate::common::sign_with(jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, SECRET)
}

/// `GET path` with a bearer token for `sub` holding `scope`.
fn get_as(sub: &str, scope: &str, path: &str) -> Request<Body> {
    crate::common::get(path, &[("authorization", &bearer(&token(sub, scope)))])
}

#[tokio::test]
async fn the_check_allows_by_path_parameter() {
    let app = app!();
    let reply = send(&app, get_as("alice", "accounts:read", "/accounts/alice")).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice seen by alice"));
    let reply = send(&app, get_as("root", "accounts:read", "/accounts/alice")).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_denial_is_403_forbidden_problem() {
    let reply = send(&app!(), get_as("alice", "accounts:read", "/accounts/bob")).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:forbidden");
    assert!(reply.header("www-authenticate").is_empty(), "not a scope problem: {reply:?}");
    assert!(!reply.text.contains("bob"), "{reply:?}");
}

#[tokio::test]
async fn the_check_can_answer_404_to_hide_an_object() {
    let reply = send(&app!(), get_as("alice", "accounts:read", "/accounts/hidden-bob")).await;
    assert_problem(&reply, 404);
}

#[tokio::test]
async fn scopes_are_checked_first() {
    let app = app!();
    let reply = send(&app, get_as("alice", "other:scope", "/audit/1")).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:insufficient-scope");
    assert_eq!(AUDIT_CHECKS.load(Ordering::SeqCst), 0, "the check ran before the scope check");
    assert_eq!(send(&app, get_as("alice", "audit:read", "/audit/1")).await.status, 200);
    assert_eq!(AUDIT_CHECKS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unauthenticated_callers_never_reach_the_check() {
    let reply = send(&app!(), crate::common::get("/accounts/alice", &[])).await;
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
    let app = app!();
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

/// An orders service with its own state: who owns which order is looked up in the state, not
/// in a layer's extension that could be forgotten.
mod orders {
    use super::*;

    /// Order id → owner.
    #[derive(Clone)]
    pub struct Owners(pub Arc<HashMap<u64, String>>);

    #[derive(Clone)]
    pub struct AppState {
        pub security: Security,
        pub owners: Owners,
    }

    impl FromRef<AppState> for Security {
        fn from_ref(state: &AppState) -> Self {
            state.security.clone()
        }
    }

    impl FromRef<AppState> for Owners {
        fn from_ref(state: &AppState) -> Self {
            state.owners.clone()
        }
    }

    /// The paths [`owns_order`] was asked about, to prove it never runs for an invalid id.
    pub static CHECKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    pub fn checked(path: &str) -> bool {
        CHECKED.lock().unwrap().iter().any(|seen| seen == path)
    }

    pub async fn owns_order(principal: &Principal, parts: &mut Parts, State(owners): State<Owners>) -> Authorization {
        CHECKED.lock().unwrap().push(parts.uri.path().to_owned());
        let Ok(Path(id)) = Path::<u64>::from_request_parts(parts, &()).await else {
            return Authorization::Deny;
        };
        Authorization::allow_if(owners.0.get(&id).is_some_and(|owner| owner == principal.id()))
    }

    #[secure(auth = "oauth", scopes = ["orders:read"], authorize = owns_order, state = AppState, validate)]
    pub async fn get_order(Path(id): Path<u64>, State(owners): State<Owners>) -> String {
        format!("order {id} of {}", owners.0.get(&id).map_or("nobody", String::as_str))
    }

    // The body is free-form on purpose: this route tests that the check runs before it is read.
    #[secure(auth = "oauth", authorize = owns_order, state = AppState, validate = false)]
    pub async fn annotate_order(Path(id): Path<u64>, Json(note): Json<Value>) -> String {
        format!("order {id} noted {note}")
    }

    pub fn state() -> AppState {
        let owners = HashMap::from([(1, "alice".to_owned()), (2, "bob".to_owned())]);
        AppState { security: security(), owners: Owners(Arc::new(owners)) }
    }
}

macro_rules! orders_app {
    () => {
        SecureRouter::new()
            .route("/orders/{id}", get(orders::get_order).post(orders::annotate_order))
            .with_state(orders::state())
    };
}

#[tokio::test]
async fn a_check_with_state_allows_the_owner_and_denies_another() {
    let app = orders_app!();
    let reply = send(&app, get_as("alice", "orders:read", "/orders/1")).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "order 1 of alice"));
    let reply = send(&app, get_as("alice", "orders:read", "/orders/2")).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:forbidden");
    assert!(!reply.text.contains("bob"), "the owner leaked: {reply:?}");
    // An order nobody owns is refused like another's.
    assert_problem(&send(&app, get_as("alice", "orders:read", "/orders/3")).await, 403);
}

#[tokio::test]
async fn an_invalid_id_is_422_before_the_check_runs() {
    let app = orders_app!();
    let reply = send(&app, get_as("alice", "orders:read", "/orders/abc")).await;
    assert_problem(&reply, 422);
    assert_eq!(reply.body["errors"][0]["loc"][0], "path", "{reply:?}");
    assert!(!orders::checked("/orders/abc"), "the check ran for an invalid id");
    // Control: a valid id that is not the caller's does reach the check.
    assert_problem(&send(&app, get_as("alice", "orders:read", "/orders/7")).await, 403);
    assert!(orders::checked("/orders/7"));
    // Authentication and scopes still come first: no token is 401, a wrong scope 403 scope.
    assert_problem(&send(&app, crate::common::get("/orders/abc", &[])).await, 401);
    let reply = send(&app, get_as("alice", "other:scope", "/orders/1")).await;
    assert_problem(&reply, 403);
    assert_eq!(reply.body["type"], "urn:secure-api:problem:insufficient-scope");
}

#[tokio::test]
async fn a_check_with_state_runs_before_the_body_is_read() {
    let app = orders_app!();
    let (request, read) = post_watched("/orders/2", "alice");
    assert_problem(&send(&app, request).await, 403);
    assert!(!read.load(Ordering::SeqCst), "the body of a denied request was read");
    let (request, read) = post_watched("/orders/1", "alice");
    let reply = send(&app, request).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "order 1 noted {\"name\":\"new\"}"));
    assert!(read.load(Ordering::SeqCst));
}
