//! The verified-token cache on real requests: a reused token is served from the cache with the
//! same decision a fresh verification makes (expiry re-checked, revocation honoured, one byte
//! of difference is another token).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secure_api::SecureApp;
use secure_api::Security;
use secure_api::auth::{JwtVerifier, TokenCache, VerificationKey};
use secure_api_examples::quickstart::{self, AppState, ItemStore};
use serde_json::{Value, json};

use crate::common::*;

const ITEMS: &str = "/api/items";

/// The quickstart's routes with `cache` and a verifier with `leeway`.
fn app_with(cache: TokenCache, leeway: Duration) -> SecureApp {
    let config = config();
    let verifier = JwtVerifier::builder()
        .key(VerificationKey::hs256(config.jwt_secret.expose().as_bytes()).unwrap())
        .issuer(config.issuer.clone())
        .audience(config.audience.clone())
        .leeway(leeway)
        .build()
        .unwrap();
    let security = Security::builder().realm(config.audience.clone()).jwt(verifier).token_cache(cache).build();
    quickstart::routes().with_state(AppState { security, items: ItemStore::default() })
}

async fn get_items(app: &SecureApp, token: &str) -> Reply {
    send(app, get(ITEMS, &[("authorization", &bearer(token))])).await
}

fn assert_invalid_token(reply: &Reply, description: &str) {
    assert_problem(reply, 401);
    let challenge = reply.header("www-authenticate");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(description), "{challenge}");
}

#[tokio::test]
async fn a_reused_token_is_accepted_every_time() {
    let cache = TokenCache::default();
    let app = app_with(cache.clone(), Duration::from_secs(60));
    let token = token("items:read");
    for _ in 0..3 {
        assert_eq!(get_items(&app, &token).await.status, 200);
    }
    assert_eq!(cache.len(), 1, "one token, one entry");
}

#[tokio::test]
async fn the_quickstart_caches_and_still_refuses_a_one_byte_change() {
    let app = app();
    let token = token("items:read");
    assert_eq!(get_items(&app, &token).await.status, 200);
    let mut bytes = token.into_bytes();
    let inside_signature = bytes.len() - 5;
    bytes[inside_signature] = if bytes[inside_signature] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_invalid_token(&get_items(&app, &tampered).await, "signature is invalid");
}

#[tokio::test]
async fn a_cached_token_that_expires_is_refused() {
    let cache = TokenCache::default();
    let app = app_with(cache.clone(), Duration::ZERO);
    let mut claims = claims("items:read");
    claims["exp"] = json!(now() + 1);
    let token = sign(&claims);
    assert_eq!(get_items(&app, &token).await.status, 200);
    assert_eq!(cache.len(), 1);
    // `exp` is in whole seconds: two seconds later it is certainly in the past.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_invalid_token(&get_items(&app, &token).await, "expired");
    assert!(cache.is_empty(), "the expired entry is dropped");
}

#[tokio::test]
async fn a_revoked_token_is_refused_although_cached() {
    let revoked: Arc<RwLock<HashSet<String>>> = Arc::default();
    let denylist = revoked.clone();
    let cache = TokenCache::builder()
        .revocation_check(move |principal| {
            let jti = principal.claims().get("jti").and_then(Value::as_str).unwrap_or_default();
            denylist.read().unwrap().contains(jti)
        })
        .build()
        .unwrap();
    let app = app_with(cache.clone(), Duration::from_secs(60));
    let mut claims = claims("items:read");
    claims["jti"] = json!("token-1");
    let token = sign(&claims);
    assert_eq!(get_items(&app, &token).await.status, 200);
    assert_eq!(cache.len(), 1);
    revoked.write().unwrap().insert("token-1".to_owned());
    assert_invalid_token(&get_items(&app, &token).await, "revoked");
}
