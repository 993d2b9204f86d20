//! Bearer-token authentication and scope authorization on the quickstart's OAuth routes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use base64::Engine;
use http::Request;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::common::*;

const ITEMS: &str = "/api/items";

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn get_items_with(token: &str) -> Reply {
    send(&app(), get(ITEMS, &[("authorization", &bearer(token))])).await
}

fn assert_invalid_token(reply: &Reply) {
    assert_problem(reply, 401);
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("Bearer realm=\"items-api\", error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn valid_token_reaches_the_handler() {
    let reply = get_items_with(&token("items:read")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!([]));
    assert_eq!(reply.header("cache-control"), "no-store");
}

#[tokio::test]
async fn no_credentials_get_a_challenge_without_error() {
    let reply = send(&app(), get(ITEMS, &[])).await;
    assert_problem(&reply, 401);
    assert_eq!(reply.header("www-authenticate"), "Bearer realm=\"items-api\"");
    assert_eq!(reply.header("x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn garbage_token_is_invalid() {
    assert_invalid_token(&get_items_with("garbage").await);
    assert_invalid_token(&get_items_with("a.b.c").await);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims("items:read")));
    let reply = get_items_with(&unsigned).await;
    assert_invalid_token(&reply);
    assert!(reply.header("www-authenticate").contains("algorithm"), "{reply:?}");
}

#[tokio::test]
async fn token_signed_with_another_key_is_refused() {
    let forged =
        sign_with(Header::new(Algorithm::HS256), &claims("items:read"), b"another-key-another-key-another-key!");
    let reply = get_items_with(&forged).await;
    assert_invalid_token(&reply);
    assert!(reply.header("www-authenticate").contains("signature"), "{reply:?}");
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let genuine = token("items:read");
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut elevated = claims("items:read items:write admin");
    elevated["sub"] = json!("mallory");
    let tampered = format!("{}.{}.{}", parts[0], b64(&elevated), parts[2]);
    assert_invalid_token(&get_items_with(&tampered).await);
}

#[tokio::test]
async fn expired_token_is_refused_beyond_the_leeway() {
    let mut expired = claims("items:read");
    expired["exp"] = json!(now() - 120);
    let reply = get_items_with(&sign(&expired)).await;
    assert_invalid_token(&reply);
    assert!(reply.header("www-authenticate").contains("expired"), "{reply:?}");

    let mut within_leeway = claims("items:read");
    within_leeway["exp"] = json!(now() - 30);
    assert_eq!(get_items_with(&sign(&within_leeway)).await.status, 200);
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let mut future = claims("items:read");
    future["nbf"] = json!(now() + 600);
    assert_invalid_token(&get_items_with(&sign(&future)).await);
}

#[tokio::test]
async fn wrong_issuer_audience_and_missing_exp_are_refused() {
    for (claim, value) in [("iss", json!("https://evil.example")), ("aud", json!("another-api"))] {
        let mut wrong = claims("items:read");
        wrong[claim] = value;
        assert_invalid_token(&get_items_with(&sign(&wrong)).await);
    }
    let mut no_exp = claims("items:read");
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_invalid_token(&get_items_with(&sign(&no_exp)).await);
}

#[tokio::test]
async fn algorithm_not_configured_is_refused_even_with_the_right_secret() {
    let secret = config().jwt_secret.expose().clone();
    let hs512 = sign_with(Header::new(Algorithm::HS512), &claims("items:read"), secret.repeat(2).as_bytes());
    assert_invalid_token(&get_items_with(&hs512).await);
    let hs384 = sign_with(Header::new(Algorithm::HS384), &claims("items:read"), secret.as_bytes());
    assert_invalid_token(&get_items_with(&hs384).await);
}

#[tokio::test]
async fn accepted_claim_forms_aud_array_scp_array_and_typ() {
    let mut array_forms = claims("");
    let object = array_forms.as_object_mut().unwrap();
    object.remove("scope");
    object.insert("scp".into(), json!(["items:read"]));
    object.insert("aud".into(), json!(["other", "items-api"]));
    assert_eq!(get_items_with(&sign(&array_forms)).await.status, 200);

    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let at_jwt = sign_with(header, &claims("items:read"), config().jwt_secret.expose().as_bytes());
    assert_eq!(get_items_with(&at_jwt).await.status, 200);

    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JOSE+JSON".into());
    let other_typ = sign_with(header, &claims("items:read"), config().jwt_secret.expose().as_bytes());
    assert_invalid_token(&get_items_with(&other_typ).await);
}

#[tokio::test]
async fn scheme_name_is_case_insensitive() {
    let reply = send(&app(), get(ITEMS, &[("authorization", &format!("bEARer {}", token("items:read")))])).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request() {
    let value = bearer(&token("items:read"));
    let reply = send(&app(), get(ITEMS, &[("authorization", &value), ("authorization", &value)])).await;
    assert_problem(&reply, 400);
    assert!(reply.header("www-authenticate").contains("error=\"invalid_request\""), "{reply:?}");
}

#[tokio::test]
async fn token_in_the_query_string_is_never_accepted() {
    let path = format!("{ITEMS}?access_token={}", token("items:read"));
    let reply = send(&app(), get(&path, &[])).await;
    assert_problem(&reply, 401);
    assert_eq!(reply.header("www-authenticate"), "Bearer realm=\"items-api\"");
}

#[tokio::test]
async fn api_key_does_not_open_an_oauth_route() {
    let key = config().api_key.expose().clone();
    let reply = send(&app(), get(ITEMS, &[("x-api-key", &key)])).await;
    assert_problem(&reply, 401);
}

#[tokio::test]
async fn missing_scope_is_forbidden_with_insufficient_scope() {
    let reply = send(
        &app(),
        post_json(ITEMS, &json!({"name": "pen", "price": 2.5}), &[("authorization", &bearer(&token("items:read")))]),
    )
    .await;
    assert_problem(&reply, 403);
    let challenge = reply.header("www-authenticate");
    assert!(challenge.starts_with("Bearer realm=\"items-api\", error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.ends_with("scope=\"items:write\""), "{challenge}");
    assert_eq!(reply.body["required_scope"], "items:write");
}

#[tokio::test]
async fn write_scope_creates_an_item() {
    let reply = send(
        &app(),
        post_json(ITEMS, &json!({"name": "pen", "price": 2.5}), &[("authorization", &bearer(&token("items:write")))]),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body, json!({"id": 1, "name": "pen", "price": 2.5}));
}

/// A body whose first poll is recorded: proves the pipeline never reads it for a rejected caller.
fn watched_body(polled: Arc<AtomicBool>) -> Body {
    let stream = futures_util::stream::once(async move {
        polled.store(true, Ordering::SeqCst);
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(br#"{"name":"pen","price":1}"#))
    });
    Body::from_stream(stream)
}

#[tokio::test]
async fn body_is_not_read_for_a_rejected_caller() {
    for authorization in [None, Some(bearer("garbage")), Some(bearer(&token("items:read")))] {
        let polled = Arc::new(AtomicBool::new(false));
        let mut request = Request::post(ITEMS).header("content-type", "application/json");
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let reply = send(&app(), request.body(watched_body(polled.clone())).unwrap()).await;
        assert!(reply.status == 401 || reply.status == 403, "{reply:?}");
        assert!(!polled.load(Ordering::SeqCst), "the body was read for {authorization:?}");
    }
    // Control: an authorized caller's body is read.
    let polled = Arc::new(AtomicBool::new(false));
    let request = Request::post(ITEMS)
        .header("content-type", "application/json")
        .header("authorization", bearer(&token("items:write")))
        .body(watched_body(polled.clone()))
        .unwrap();
    assert_eq!(send(&app(), request).await.status, 201);
    assert!(polled.load(Ordering::SeqCst));
}

#[tokio::test]
async fn item_lookup_returns_404_problem_for_unknown_ids() {
    let reply = send(&app(), get("/api/items/42", &[("authorization", &bearer(&token("items:read")))])).await;
    assert_problem(&reply, 404);
}

/// RFC 6749 §3.3: scopes are separated by SP only. A `scope` (or `scp`) holding a TAB, LF or FF
/// between two scopes granted both (the claim was split on any ASCII whitespace); such a claim is
/// not a scope list, and the token is refused.
#[tokio::test]
async fn a_scope_claim_is_split_on_spaces_only() {
    let app = app();
    let new_item = json!({"name": "x", "price": 1});
    for separator in ["\t", "\n", "\u{c}", "\r"] {
        let scope = format!("items:read{separator}items:write");
        let mut with_scp = claims("");
        with_scp.as_object_mut().unwrap().remove("scope");
        with_scp["scp"] = json!(scope);
        let mut with_scp_array = with_scp.clone();
        with_scp_array["scp"] = json!([scope]);
        for token in [sign(&claims(&scope)), sign(&with_scp), sign(&with_scp_array)] {
            let write = send(&app, post_json(ITEMS, &new_item, &[("authorization", &bearer(&token))])).await;
            assert_invalid_token(&write);
            let read = send(&app, get(ITEMS, &[("authorization", &bearer(&token))])).await;
            assert_invalid_token(&read);
        }
    }
    // Spaces (even several) still separate scopes.
    let token = sign(&claims(" items:read  items:write "));
    let write = send(&app, post_json(ITEMS, &new_item, &[("authorization", &bearer(&token))])).await;
    assert_eq!(write.status, 201, "{write:?}");
}

/// RFC 7519 §4.1.1: `iss` is one StringOrURI. An array naming the trusted issuer was accepted.
#[tokio::test]
async fn an_issuer_array_is_refused() {
    let app = app();
    let issuer = config().issuer;
    for iss in [json!([issuer]), json!([issuer, "https://evil.example"]), json!(["https://evil.example", issuer])] {
        let mut claims = claims("items:read");
        claims["iss"] = iss.clone();
        let reply = send(&app, get(ITEMS, &[("authorization", &bearer(&sign(&claims)))])).await;
        assert_invalid_token(&reply);
    }
}

/// The same two rules on introspection answers (RFC 7662), over a real introspection endpoint
/// on loopback: an `iss` array, or a TAB between scopes, refuses the token.
#[tokio::test]
async fn introspection_answers_are_read_by_the_same_rules() {
    use crate::idp_support::{INTROSPECTION_CLIENT, Idp};
    use secure_api::auth::Introspector;
    use secure_api::routing::get as get_route;
    use secure_api::{SecureRouter, Security, secure};

    #[secure(auth = "oauth", scopes = ["items:write"])]
    async fn write() -> &'static str {
        "written"
    }

    let idp = Idp::start(&[]).await;
    let answer = |extra: Value| {
        let mut answer = json!({"active": true, "sub": "alice", "aud": "items-api", "exp": now() + 600,
            "scope": "items:read items:write"});
        for (name, value) in extra.as_object().unwrap() {
            answer[name] = value.clone();
        }
        answer
    };
    idp.set_introspection("good", answer(json!({"iss": "https://idp.example"})));
    idp.set_introspection("issuer-array", answer(json!({"iss": ["https://idp.example"]})));
    idp.set_introspection("tab-scope", answer(json!({"scope": "items:read\titems:write"})));
    // No issuer configured: `iss` is not required, but is one string when present.
    let introspector = Introspector::builder(idp.introspection_url(), INTROSPECTION_CLIENT.0, INTROSPECTION_CLIENT.1)
        .audience("items-api")
        .build()
        .unwrap();
    let app = SecureRouter::new()
        .route("/write", get_route(write))
        .with_state(Security::builder().introspection(introspector).build());
    let call = |token: &'static str| send(&app, get("/write", &[("authorization", &bearer(token))]));
    let good = call("good").await;
    assert_eq!((good.status.as_u16(), good.text.as_str()), (200, "written"), "{good:?}");
    for token in ["issuer-array", "tab-scope"] {
        let reply = call(token).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("error=\"invalid_token\""), "{token}: {reply:?}");
    }
}
