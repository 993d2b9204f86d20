//! Several schemes on one route (`auth = "oauth | api_key"`) and optional authentication
//! (`auth_optional`), end to end through real requests.

use secure_api::SecureApp;
use secure_api::auth::{ApiKeys, JwtVerifier, VerificationKey};
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};
use serde_json::json;

use crate::common::{assert_problem, bearer, send};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const API_KEY: &str = "reports-key-0123456789abcdef0123456789";

#[secure(auth = "oauth | api_key")]
async fn either(principal: Principal) -> String {
    format!("{} via {}", principal.id(), principal.method().as_str())
}

#[secure(auth = "oauth", auth_optional)]
async fn greeting(principal: Option<Principal>) -> String {
    match principal {
        Some(principal) => format!("hello {}", principal.id()),
        None => "hello stranger".to_owned(),
    }
}

#[secure(auth = "api_key | oauth", auth_optional)]
async fn optional_either(principal: Option<Principal>) -> String {
    principal.map_or_else(|| "anonymous".to_owned(), |principal| principal.method().as_str().to_owned())
}

fn app() -> SecureApp {
    let security = Security::builder()
        .realm("items-api")
        .jwt(JwtVerifier::builder().key(VerificationKey::hs256(SECRET).unwrap()).build().unwrap())
        .api_keys(ApiKeys::new().with_key(API_KEY, "reporting-service", ["reports:read"]).unwrap())
        .build();
    SecureRouter::new()
        .route("/either", get(either))
        .route("/greeting", get(greeting))
        .route("/optional-either", get(optional_either))
        .with_state(security)
}

fn token(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": crate::common::now() + 600});
    crate::common::sign_with(jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, SECRET)
}

async fn call(app: &SecureApp, path: &str, headers: &[(&str, &str)]) -> crate::common::Reply {
    send(app, crate::common::get(path, headers)).await
}

#[tokio::test]
async fn any_of_accepts_either_scheme() {
    let app = app();
    let reply = call(&app, "/either", &[("authorization", &bearer(&token("alice")))]).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "alice via bearer"));
    let reply = call(&app, "/either", &[("x-api-key", API_KEY)]).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "reporting-service via api_key"));
}

#[tokio::test]
async fn any_of_without_credentials_challenges_with_every_scheme() {
    let reply = call(&app(), "/either", &[]).await;
    assert_problem(&reply, 401);
    let challenges: Vec<_> = reply.headers.get_all("www-authenticate").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(challenges, ["Bearer realm=\"items-api\"", "ApiKey realm=\"items-api\", header=\"x-api-key\""]);
}

#[tokio::test]
async fn any_of_refuses_bad_credentials_of_either_scheme() {
    let app = app();
    let reply = call(&app, "/either", &[("authorization", "Bearer not-a-valid-token")]).await;
    assert_problem(&reply, 401);
    assert!(
        reply.header("www-authenticate").starts_with("Bearer")
            && reply.header("www-authenticate").contains("invalid_token")
    );
    let reply = call(&app, "/either", &[("x-api-key", "wrong-key-wrong-key-wrong-key-wrong")]).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").starts_with("ApiKey"), "{reply:?}");
    // The first scheme with credentials decides: a bad token is not rescued by a good key.
    let reply = call(&app, "/either", &[("authorization", "Bearer bad"), ("x-api-key", API_KEY)]).await;
    assert_problem(&reply, 401);
}

#[tokio::test]
async fn optional_auth_without_credentials_runs_the_handler_with_none() {
    let app = app();
    let reply = call(&app, "/greeting", &[]).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "hello stranger"));
    let reply = call(&app, "/greeting", &[("authorization", &bearer(&token("alice")))]).await;
    assert_eq!((reply.status.as_u16(), reply.text.as_str()), (200, "hello alice"));
    // Another scheme's credentials are not this route's: still anonymous.
    let reply = call(&app, "/greeting", &[("x-api-key", API_KEY)]).await;
    assert_eq!(reply.text, "hello stranger");
}

#[tokio::test]
async fn optional_auth_still_refuses_bad_credentials() {
    let app = app();
    let reply = call(&app, "/greeting", &[("authorization", "Bearer forged.token.here")]).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains("invalid_token"), "{reply:?}");
    let reply = call(&app, "/greeting", &[("authorization", "Bearer")]).await;
    assert_problem(&reply, 400);
    let reply = call(&app, "/optional-either", &[("x-api-key", "wrong-key-wrong-key-wrong-key-wrong")]).await;
    assert_problem(&reply, 401);
}

#[tokio::test]
async fn optional_any_of() {
    let app = app();
    assert_eq!(call(&app, "/optional-either", &[]).await.text, "anonymous");
    assert_eq!(call(&app, "/optional-either", &[("x-api-key", API_KEY)]).await.text, "api_key");
    assert_eq!(call(&app, "/optional-either", &[("authorization", &bearer(&token("a")))]).await.text, "bearer");
}

#[test]
fn the_router_records_optional_routes() {
    let router: SecureRouter<Security> =
        SecureRouter::new().route("/greeting", get(greeting)).route("/either", get(either));
    let routes = router.routes();
    assert!(routes[0].policy.is_auth_optional());
    assert!(!routes[1].policy.is_auth_optional());
    assert_eq!(routes[1].policy.auth().len(), 2);
}
