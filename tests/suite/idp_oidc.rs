//! OpenID Connect discovery against a real provider on a loopback port: only the issuer is
//! configured; the JWKS URL comes from `/.well-known/openid-configuration`.

use std::sync::atomic::Ordering;

use secure_api::SecureApp;
use secure_api::auth::{Algorithm, JwtVerifier, TokenProfile, discover};
use secure_api::routing::get;
use secure_api::{Principal, SecureRouter, Security, secure};

use crate::common::{assert_problem, bearer, send};
use crate::idp_support::{Idp, TestKey, claims};

#[secure(auth = "oauth")]
async fn whoami(principal: Principal) -> String {
    principal.id().to_owned()
}

fn app(verifier: JwtVerifier) -> SecureApp {
    SecureRouter::new().route("/whoami", get(whoami)).with_state(Security::builder().jwt(verifier).build())
}

#[tokio::test]
async fn the_issuer_alone_finds_the_keys() {
    let key = TestKey::es256("ec-1");
    let idp = Idp::start(&[&key]).await;
    let provider = discover(idp.issuer()).await.expect("discovery works");
    assert_eq!(provider.issuer, idp.issuer());
    assert_eq!(provider.jwks_uri, idp.jwks_url());
    assert_eq!(provider.introspection_endpoint.as_deref(), Some(idp.introspection_url().as_str()));
    let keys = provider.jwks().algorithms([Algorithm::ES256]).build().await.unwrap();
    let verifier =
        JwtVerifier::builder().jwks(keys).issuer(provider.issuer.clone()).audience("items-api").build().unwrap();
    let token = key.sign(&claims(&idp.issuer(), "items-api", "alice", "items:read"));
    let reply = send(&app(verifier), crate::common::get("/whoami", &[("authorization", &bearer(&token))])).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text, "alice");
    assert_eq!(idp.state.discovery_fetches.load(Ordering::SeqCst), 1);
    // A trailing slash on the configured issuer finds the same document, but the document's
    // issuer must then match exactly, so it is refused.
    let error = discover(format!("{}/", idp.issuer())).await.unwrap_err();
    assert!(error.to_string().contains("names issuer"), "{error}");
}

#[tokio::test]
async fn a_document_naming_another_issuer_is_refused() {
    let idp = Idp::start(&[&TestKey::rs256("r")]).await;
    let configured = idp.issuer();
    *idp.state.issuer.lock().unwrap() = format!("http://{}/realms/evil", idp.addr);
    let error = discover(configured).await.unwrap_err();
    assert!(error.to_string().contains("not the configured"), "{error}");
}

#[tokio::test]
async fn an_unreachable_issuer_fails_clearly() {
    let url = crate::idp_support::closed_port_url("/realms/none").await;
    let error = discover(url).await.unwrap_err();
    assert!(error.to_string().contains("discovery") && error.to_string().contains("connect"), "{error}");
}

#[tokio::test]
async fn the_rfc9068_profile_requires_at_jwt_and_every_claim() {
    let key = TestKey::rs256("rsa-1");
    let idp = Idp::start(&[&key]).await;
    let provider = discover(idp.issuer()).await.unwrap();
    let verifier = JwtVerifier::builder()
        .jwks(provider.jwks().build().await.unwrap())
        .issuer(provider.issuer.clone())
        .audience("items-api")
        .profile(TokenProfile::Rfc9068)
        .build()
        .unwrap();
    let app = app(verifier);
    let full = claims(&idp.issuer(), "items-api", "alice", "items:read");
    let call = async |header: jsonwebtoken::Header, claims: &serde_json::Value| {
        send(&app, crate::common::get("/whoami", &[("authorization", &bearer(&key.sign_with(header, claims)))])).await
    };
    let mut at_jwt = key.header();
    at_jwt.typ = Some("at+jwt".into());
    assert_eq!(call(at_jwt.clone(), &full).await.status, 200);
    let mut long_form = key.header();
    long_form.typ = Some("application/at+jwt".into());
    assert_eq!(call(long_form, &full).await.status, 200);
    // `typ: JWT` (an ID token, say) is not an access token under RFC 9068.
    let reply = call(key.header(), &full).await;
    assert_problem(&reply, 401);
    assert!(reply.header("www-authenticate").contains("not an access token"), "{reply:?}");
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove(claim);
        let reply = call(at_jwt.clone(), &partial).await;
        assert_problem(&reply, 401);
        assert!(reply.header("www-authenticate").contains("lacks a required claim"), "{claim}: {reply:?}");
    }
}
